"""`raftcheck replay FILE`: a saved trace re-run on the command line (model/replay.py), with
`--shrink` and the `--format` renderings."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from attrs import evolve

from raftcheck.model.cli.common import add_force_argument, refuse_to_overwrite, write_new
from raftcheck.model.cores import CoreLoadError, load_core, trusted_spec
from raftcheck.model.render import render_html, render_mermaid
from raftcheck.model.replay import ReplayResult, replay
from raftcheck.model.shrink import shrink
from raftcheck.model.trace import count_steps, render_trace, show_action
from raftcheck.model.tracefile import (
    CoreIdentity,
    TraceFile,
    TraceFileError,
    load_trace,
    save_trace,
    save_trace_fresh,
)
from raftcheck.model.verdict import Exit, UsageError, Verdict
from raftcheck.model.world import Action, Model
from raftcheck.properties import Violation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `raftcheck replay`."""
    parser.add_argument("file", metavar="FILE", help="a trace file (raftcheck-traces/*.json)")
    parser.add_argument("--core", default=None,
                        help="the core to replay on: raft, a broken core's name, or "
                             "module:object (default: the core recorded in the file)")
    parser.add_argument("--shrink", action="store_true",
                        help="minimise the violation and save the shorter trace as a new file")
    parser.add_argument("--shrunk", metavar="PATH", default=None,
                        help="where --shrink saves (default: FILE's name + .shrunk.json; "
                             "never overwrites)")
    parser.add_argument("--format", choices=("text", "mermaid", "html"), default="text",
                        help="text (numbered trace), mermaid (sequence diagram) or html "
                             "(self-contained chart) (default: %(default)s)")
    parser.add_argument("--out", metavar="PATH", default=None,
                        help="write the rendering here instead of stdout")
    add_force_argument(parser)
    parser.add_argument("--json", action="store_true", help="print a JSON summary only")


def run(args: argparse.Namespace) -> int:
    """`raftcheck replay`: 0 fixed/clean, 1 violation (same or different), 2 bad input,
    3 the trace stops applying."""
    if args.json and args.format != "text" and args.out is None:
        raise UsageError("--json with --format mermaid/html needs --out PATH for the rendering")
    if args.out is not None and Path(args.out).resolve() == Path(args.file).resolve():
        raise UsageError(f"--out {args.out} is the trace being replayed: choose another path")
    refuse_to_overwrite(args.out, args.force)
    if args.shrunk is not None and not args.shrink:
        raise UsageError("--shrunk names the file --shrink writes: give --shrink too")
    try:
        trace = load_trace(args.file)
    except TraceFileError as error:
        raise UsageError(str(error)) from None
    if args.shrink and trace.loop is not None:
        raise UsageError("--shrink does not apply to a lasso: its prefix is already a shortest "
                         "one and its cycle must stay whole")
    spec = args.core if args.core is not None else trace.core.spec
    if args.core is None and not trusted_spec(spec):
        raise UsageError(f"the trace was recorded with core {spec!r}, which is not part of "
                         "raftcheck; a trace file never makes raftcheck import code: run it "
                         f"with --core {spec} if you trust that code (use --core)")
    try:
        core = load_core(spec)
    except CoreLoadError as error:
        hint = "" if args.core is not None else " (the core recorded in the file; use --core)"
        raise UsageError(f"{error}{hint}") from None
    model = trace.model(core)
    result = replay(model, trace.actions, trace.violation, trace.loop)
    shown_actions, shown_violation = list(result.actions), result.violation
    shrunk_path: Path | None = None
    shrink_note = None
    if args.shrink:
        if result.violation is None:
            shrink_note = "nothing to shrink: no property is violated on this core"
        else:
            shown_actions, shown_violation = shrink(model, result.actions)
            shrunk = evolve(
                trace, core=CoreIdentity(spec, core.name), actions=tuple(shown_actions),
                violation=shown_violation,
                metadata={**trace.metadata, "shrunk_from": {
                    "file": str(args.file), "steps": len(trace.actions)}})
            shrunk_path = _save_shrunk(args, shrunk)
            shrink_note = (f"shrunk from {len(result.actions)} to {len(shown_actions)} steps: "
                           f"saved {shrunk_path}")
    rendering = _render(args.format, model, shown_actions, shown_violation, result,
                        title=f"raftcheck replay {Path(args.file).name}")
    if args.out is not None:
        write_new(args.out, rendering, args.force)
    summary = _summary_lines(result, trace, spec, core.name)
    code = result.exit_code
    divergence = _divergence_note(trace, result)
    if divergence is not None:
        summary.append(divergence)
        code = Exit.INCONCLUSIVE
    if shrink_note:
        summary.append(shrink_note)
    if args.out is not None:
        summary.append(f"{args.format} rendering written to {args.out}")
    if args.json:
        document = _json(result, args, spec, core.name, shrunk_path, shrink_note)
        if divergence is not None:
            document.update(divergence=divergence, exit_code=int(code))
        print(json.dumps(document, indent=2))
    elif args.out is not None:
        print("\n".join(summary))
    elif args.format == "text":
        print(rendering)
        print()
        print("\n".join(summary))
    else:  # the rendering is the output; the verdict goes to stderr
        sys.stdout.write(rendering)
        print("\n".join(summary), file=sys.stderr)
    return code


def _divergence_note(trace: TraceFile, result: ReplayResult) -> str | None:
    """A trace `raftcheck diff` saved holds NEW's side of a schedule on which two cores
    diverged. When NEW alone breaks no property there, a clean replay says nothing about
    the divergence: inconclusive, with the command that re-checks it."""
    if trace.engine != "diff" or not result.verdict.is_clean:
        return None
    meta = trace.metadata.get("diff", {}) if isinstance(trace.metadata, dict) else {}
    detail = meta.get("detail") or ["(no detail recorded)"]
    old, new, level = meta.get("old", "OLD"), meta.get("new", "NEW"), meta.get("compare", "?")
    return (f"INCONCLUSIVE: this trace records a divergence between {old} and {new} at "
            f"--compare {level} ({detail[0]}); one core alone cannot show it: run "
            f"`raftcheck diff {old} {new} --compare {level}`")


def _save_shrunk(args: argparse.Namespace, shrunk: TraceFile) -> Path:
    try:
        if args.shrunk is not None:
            return save_trace(args.shrunk, shrunk)
        source = Path(args.file)
        stem = source.name[:-5] if source.name.endswith(".json") else source.name
        return save_trace_fresh(source.with_name(f"{stem}.shrunk.json"), shrunk)
    except TraceFileError as error:
        raise UsageError(str(error)) from None


def _render(form: str, model: Model, actions: list[Action], violation: Violation | None,
            result: ReplayResult, title: str) -> str:
    stopped = result.stopped
    loop = result.loop if len(actions) == len(result.actions) else None  # not shrunk
    if form == "mermaid":
        return render_mermaid(model, actions, violation, title=title, stopped=stopped,
                              loop=loop)
    if form == "html":
        cycle = None if loop is None else (f"a lasso: steps {loop + 1}-{len(actions)} are a "
                                           "cycle that repeats forever")
        return render_html(model, actions, violation, title=title, subtitle=cycle,
                           stopped=stopped, verdict=_headline(result))
    text = render_trace(model, actions, violation, title="Replay", loop=loop)
    if stopped is not None:
        number, action, why = stopped
        text += f"\n  ⊘ step {number} does not apply: {show_action(action)}\n    why: {why}"
    return text


def _headline(result: ReplayResult) -> str:
    found = result.violation
    recorded = result.recorded
    if result.verdict is Verdict.REPRODUCED and found is not None:
        return f"✗ REPRODUCED: {found.property} at step {result.step}"
    if result.verdict is Verdict.DIFFERENT and found is not None:
        was = f" (recorded: {recorded.property})" if recorded is not None else \
            " (recorded clean)"
        return f"✗ DIFFERENT VIOLATION: {found.property} at step {result.step}{was}"
    if result.verdict is Verdict.FIXED and recorded is not None:
        return f"✓ FIXED: {recorded.property} no longer happens"
    if result.verdict is Verdict.CLEAN:
        return "✓ CLEAN: no property violated"
    return f"⊘ STOPS APPLYING at step {result.step}"


def _summary_lines(result: ReplayResult, trace: TraceFile, spec: str, name: str) -> list[str]:
    recorded = result.recorded
    on = f"core {name!r}" + ("" if spec == name else f" ({spec})")
    lines = [f"replayed {len(trace.actions)} recorded steps (found by {trace.engine} on core "
             f"{trace.core.name!r}) on {on}"]
    found = result.violation
    if result.verdict is Verdict.REPRODUCED and found is not None and result.loop is not None:
        lines.append(f"REPRODUCED: {found.property} round the same cycle (steps "
                     f"{result.loop + 1}-{len(result.actions)} return to the state after step "
                     f"{result.loop}, fairly): {found.detail}")
    elif result.verdict is Verdict.REPRODUCED and found is not None:
        same_step = " at the same step" if result.step == len(trace.actions) else \
            f" at step {result.step} (recorded after step {len(trace.actions)})"
        lines.append(f"REPRODUCED: {found.property}{same_step}: {found.detail}")
    elif result.verdict is Verdict.DIFFERENT and found is not None:
        was = f"recorded {recorded.property}" if recorded is not None else "recorded clean"
        lines.append(f"DIFFERENT VIOLATION: {found.property} at step {result.step} "
                     f"({was}): {found.detail}")
    elif result.verdict is Verdict.FIXED and recorded is not None and result.loop is not None:
        lines.append(f"FIXED: all {count_steps(len(result.actions))} run, no safety property "
                     f"is violated, and the lasso no longer holds: {result.reason} (recorded: "
                     f"{recorded.property})")
    elif result.verdict is Verdict.FIXED and recorded is not None:
        lines.append(f"FIXED: all {count_steps(len(result.actions))} run and no property is "
                     f"violated (recorded: {recorded.property})")
    elif result.verdict is Verdict.CLEAN:
        lines.append(f"CLEAN: all {count_steps(len(result.actions))} run and no property is "
                     "violated")
    else:
        assert result.stopped_action is not None
        lines.append(f"STOPS APPLYING at step {result.step}: "
                     f"{show_action(result.stopped_action)} is not enabled: {result.reason} "
                     f"(steps 1-{(result.step or 1) - 1} ran without a violation; "
                     "inconclusive)")
    return lines


def _violation_json(violation: Violation | None) -> dict[str, Any] | None:
    if violation is None:
        return None
    return {"property": violation.property, "detail": violation.detail, "why": violation.why,
            "nodes": list(violation.nodes), "index": violation.index, "term": violation.term}


def _json(result: ReplayResult, args: argparse.Namespace, spec: str, name: str,
          shrunk: Path | None, shrink_note: str | None) -> dict[str, Any]:
    return {
        "file": str(args.file),
        "core": {"spec": spec, "name": name},
        "outcome": result.outcome,
        "exit_code": int(result.exit_code),
        "recorded": _violation_json(result.recorded),
        "violation": _violation_json(result.violation),
        "step": result.step,
        "steps_run": len(result.actions),
        "stopped": None if result.stopped is None else {
            "step": result.step, "action": repr(result.stopped_action),
            "reason": result.reason},
        "shrunk_file": None if shrunk is None else str(shrunk),
        "shrink": shrink_note,
        "rendering": args.out,
    }
