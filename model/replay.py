"""`raftcheck replay FILE`: re-run a saved trace against a core and re-check every property.

The actions of a trace file are applied *strictly*, in order, through the one action space
(`Model.successor`), and every property is checked after every step by `model.shrink`'s
`first_violation` (the same check the shrinker and the fuzzer use). Five outcomes:

==============  ============================================================  =====
outcome         meaning                                                       exit
==============  ============================================================  =====
reproduced      the recorded property is violated again                       1
different       another property is violated (or the trace was recorded       1
                clean and now violates one)
fixed           the trace was recorded with a violation; the core now runs     0
                every step and no property breaks: how a fixed bug looks
clean           recorded clean, still clean                                   0
stops applying  step k is not enabled on this core (a message it expects is   3
                not in flight, a node is down, a bound stops it): the trace
                no longer says anything past step k-1, which is neither a
                pass nor a violation, so it is *inconclusive* like a search
                that hit its bound
==============  ============================================================  =====

A violation reached *before* the step that stops applying wins: the run did break a
property. Bad files, unknown cores and bad options are exit 2 with one line.

`--shrink` minimises the replayed violation with `model.shrink.shrink` (delete steps while
the same property breaks) and saves the shorter trace as a new file (never over the input);
`--format mermaid|html` renders the trace (`model.render`) to `--out` or stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from attrs import evolve, frozen

from raftcheck.impl.types import Role
from raftcheck.model.cores import CoreLoadError, load_core
from raftcheck.model.render import render_html, render_mermaid
from raftcheck.model.shrink import first_violation, shrink
from raftcheck.model.trace import count_steps, render_trace, show_action, show_message
from raftcheck.model.tracefile import (
    CoreIdentity,
    TraceFile,
    TraceFileError,
    load_trace,
    save_trace,
    save_trace_fresh,
)
from raftcheck.model.world import (
    Action,
    CoreFault,
    Crash,
    Deliver,
    Drop,
    Duplicate,
    Heal,
    Heartbeat,
    Model,
    ModelError,
    Partition,
    Restart,
    Submit,
    Tick,
    Timeout,
    World,
)
from raftcheck.properties import Violation

EXIT_CLEAN, EXIT_VIOLATION, EXIT_USAGE, EXIT_INCONCLUSIVE = 0, 1, 2, 3

REPRODUCED, DIFFERENT, FIXED, CLEAN, STOPS_APPLYING = (
    "reproduced", "different", "fixed", "clean", "stops applying")
EXIT_CODES = {REPRODUCED: EXIT_VIOLATION, DIFFERENT: EXIT_VIOLATION, FIXED: EXIT_CLEAN,
              CLEAN: EXIT_CLEAN, STOPS_APPLYING: EXIT_INCONCLUSIVE}


@frozen
class ReplayResult:
    """What replaying a trace showed. `actions` are the steps actually run: up to and
    including the violating one, or up to the step before the one that stops applying, or all
    of them. `step` is the violating step or the step that stops applying (1-based)."""

    outcome: str
    recorded: Violation | None
    violation: Violation | None
    actions: tuple[Action, ...]
    step: int | None = None
    stopped_action: Action | None = None
    reason: str | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.outcome]

    @property
    def stopped(self) -> tuple[int, Action, str] | None:
        if self.outcome != STOPS_APPLYING or self.step is None or self.stopped_action is None:
            return None
        return (self.step, self.stopped_action, self.reason or "not enabled")


def replay(model: Model, actions: Sequence[Action],
           recorded: Violation | None = None) -> ReplayResult:
    """Run `actions` strictly on `model`, checking every property after every step, and
    classify the result against the `recorded` violation (see the module docstring)."""
    applicable, stop = _applicable_prefix(model, actions)
    outcome = first_violation(model, applicable)  # exact: every action in it is enabled
    if outcome is not None:
        same = recorded is not None and outcome.violation.property == recorded.property
        return ReplayResult(REPRODUCED if same else DIFFERENT, recorded, outcome.violation,
                            outcome.actions, len(outcome.actions))
    if stop is not None:
        number, why = stop
        return ReplayResult(STOPS_APPLYING, recorded, None, tuple(applicable), number,
                            actions[number - 1], why)
    return ReplayResult(FIXED if recorded is not None else CLEAN, recorded, None,
                        tuple(applicable))


def _applicable_prefix(model: Model, actions: Sequence[Action]) -> tuple[
        list[Action], tuple[int, str] | None]:
    """The longest prefix of `actions` whose every step is enabled, and (step, why) for the
    first that is not. A step on which the core fails is enabled (the failure is a finding,
    and `first_violation` reports it); nothing after it can run."""
    try:
        state = model.initial_state()
    except CoreFault:
        return [], None
    taken: list[Action] = []
    for number, action in enumerate(actions, 1):
        try:
            after = model.successor(state, action)
        except CoreFault:
            return [*taken, action], None
        if after is None:
            return taken, (number, why_not_enabled(model, state, action))
        taken.append(action)
        state = after
    return taken, None


def why_not_enabled(model: Model, state: World, action: Action) -> str:
    """One line on why `action` cannot be taken in `state`: the guard it fails."""
    bounds = model.bounds
    node_id = getattr(action, "node", None)
    node = state.nodes[node_id] if node_id is not None and 0 <= node_id < len(
        state.nodes) else None
    if isinstance(action, (Deliver, Drop, Duplicate)):
        message = action.message
        if message not in state.network:
            similar = [m for m in state.network if type(m) is type(message)
                       and m.source == message.source and m.dest == message.dest]
            instead = f"; in flight instead: {show_message(similar[-1])}" if similar else ""
            return ("that message is not in flight (it was never sent, or already delivered "
                    f"or dropped){instead}")
        if isinstance(action, Drop) and not bounds.drop:
            return "the bounds do not allow dropping messages (drop=off)"
        if isinstance(action, Duplicate) and not bounds.duplicate:
            return "the bounds do not allow duplicating messages (duplicate=off)"
        if isinstance(action, Deliver):
            if state.nodes[message.dest] is None:
                return f"n{message.dest} is down"
            if not state.connected(message.source, message.dest):
                return f"n{message.source} and n{message.dest} are on different sides of " \
                       "the partition"
    elif isinstance(action, (Timeout, Heartbeat, Submit, Crash)):
        if node is None:
            return f"n{node_id} is down"
        if isinstance(action, Timeout):
            if state.clock is not None:
                return "the timed world has no Timeout action (its timers fire by Tick)"
            if node.role is Role.LEADER:
                return f"n{node_id} is the leader (leaders send heartbeats, not elections)"
            if node.current_term >= bounds.max_term:
                return f"n{node_id} is at term {node.current_term}, the bound max_term"
        if isinstance(action, Heartbeat):
            if state.clock is not None:
                return "the timed world has no Heartbeat action (its timers fire by Tick)"
            if node.role is not Role.LEADER:
                return f"n{node_id} is a {node.role}, not the leader"
        if isinstance(action, Submit):
            if node.role is not Role.LEADER:
                return (f"n{node_id} is a {node.role}, not the leader (clients talk to "
                        "leaders)")
            if node.last_log_index >= bounds.max_log:
                return f"n{node_id}'s log is at the bound max_log={bounds.max_log}"
            if not 1 <= action.value <= bounds.values or action.key != "x":
                return f"the command is outside the bounds (values 1..{bounds.values}, key x)"
        if isinstance(action, Crash) and bounds.max_crashes is not None and \
                state.crashes >= bounds.max_crashes:
            return f"already {state.crashes} crashes, the bound max_crashes"
    elif isinstance(action, Restart):
        if node is not None:
            return f"n{node_id} is not down"
    elif isinstance(action, Partition):
        if state.isolated:
            return "already partitioned (heal first)"
        if bounds.max_partitions is not None and state.partitions >= bounds.max_partitions:
            return f"already {state.partitions} partitions, the bound max_partitions"
        return "not a partition this model enumerates (the smaller side names it)"
    elif isinstance(action, Heal):
        return "there is no partition to heal"
    elif isinstance(action, Tick):
        if state.clock is None:
            return "Tick needs the timed world (config timing=timed)"
        return "no timer is running"
    try:
        after = model.next_state(state, action)
    except ModelError as error:
        return str(error)
    except CoreFault as fault:  # pragma: no cover - the action was not enabled anyway
        return f"not enabled (and the core fails on it: {fault})"
    if len(after.network) > bounds.max_messages:
        return (f"it would put {len(after.network)} messages in flight, over the bound "
                f"max_messages={bounds.max_messages}")
    return "not enabled in this state"


# ------------------------------------------------------------------------------ the CLI


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
    parser.add_argument("--json", action="store_true", help="print a JSON summary only")


def run(args: argparse.Namespace) -> int:
    """`raftcheck replay`: 0 fixed/clean, 1 violation (same or different), 2 bad input,
    3 the trace stops applying."""
    try:
        return _run(args)
    except _Usage as error:
        print(f"raftcheck replay: error: {error}", file=sys.stderr)
        return EXIT_USAGE


class _Usage(Exception):
    pass


def _run(args: argparse.Namespace) -> int:
    if args.json and args.format != "text" and args.out is None:
        raise _Usage("--json with --format mermaid/html needs --out PATH for the rendering")
    try:
        trace = load_trace(args.file)
    except TraceFileError as error:
        raise _Usage(str(error)) from None
    spec = args.core if args.core is not None else trace.core.spec
    try:
        core = load_core(spec)
    except CoreLoadError as error:
        hint = "" if args.core is not None else " (the core recorded in the file; use --core)"
        raise _Usage(f"{error}{hint}") from None
    model = trace.model(core)
    result = replay(model, trace.actions, trace.violation)
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
        try:
            Path(args.out).write_text(rendering, encoding="utf-8")
        except OSError as error:
            raise _Usage(f"cannot write {args.out}: {error.strerror or error}") from None
    summary = _summary_lines(result, trace, spec, core.name)
    if shrink_note:
        summary.append(shrink_note)
    if args.out is not None:
        summary.append(f"{args.format} rendering written to {args.out}")
    if args.json:
        print(json.dumps(_json(result, args, spec, core.name, shrunk_path, shrink_note),
                         indent=2))
    elif args.out is not None:
        print("\n".join(summary))
    elif args.format == "text":
        print(rendering)
        print()
        print("\n".join(summary))
    else:  # the rendering is the output; the verdict goes to stderr
        sys.stdout.write(rendering)
        print("\n".join(summary), file=sys.stderr)
    return result.exit_code


def _save_shrunk(args: argparse.Namespace, shrunk: TraceFile) -> Path:
    try:
        if args.shrunk is not None:
            return save_trace(args.shrunk, shrunk)
        source = Path(args.file)
        stem = source.name[:-5] if source.name.endswith(".json") else source.name
        return save_trace_fresh(source.with_name(f"{stem}.shrunk.json"), shrunk)
    except TraceFileError as error:
        raise _Usage(str(error)) from None


def _render(form: str, model: Model, actions: list[Action], violation: Violation | None,
            result: ReplayResult, title: str) -> str:
    stopped = result.stopped
    if form == "mermaid":
        return render_mermaid(model, actions, violation, title=title, stopped=stopped)
    if form == "html":
        return render_html(model, actions, violation, title=title, stopped=stopped,
                           verdict=_headline(result))
    text = render_trace(model, actions, violation, title="Replay")
    if stopped is not None:
        number, action, why = stopped
        text += f"\n  ⊘ step {number} does not apply: {show_action(action)}\n    why: {why}"
    return text


def _headline(result: ReplayResult) -> str:
    found = result.violation
    recorded = result.recorded
    if result.outcome == REPRODUCED and found is not None:
        return f"✗ REPRODUCED: {found.property} at step {result.step}"
    if result.outcome == DIFFERENT and found is not None:
        was = f" (recorded: {recorded.property})" if recorded is not None else \
            " (recorded clean)"
        return f"✗ DIFFERENT VIOLATION: {found.property} at step {result.step}{was}"
    if result.outcome == FIXED and recorded is not None:
        return f"✓ FIXED: {recorded.property} no longer happens"
    if result.outcome == CLEAN:
        return "✓ CLEAN: no property violated"
    return f"⊘ STOPS APPLYING at step {result.step}"


def _summary_lines(result: ReplayResult, trace: TraceFile, spec: str, name: str) -> list[str]:
    recorded = result.recorded
    on = f"core {name!r}" + ("" if spec == name else f" ({spec})")
    lines = [f"replayed {len(trace.actions)} recorded steps (found by {trace.engine} on core "
             f"{trace.core.name!r}) on {on}"]
    found = result.violation
    if result.outcome == REPRODUCED and found is not None:
        same_step = " at the same step" if result.step == len(trace.actions) else \
            f" at step {result.step} (recorded after step {len(trace.actions)})"
        lines.append(f"REPRODUCED: {found.property}{same_step}: {found.detail}")
    elif result.outcome == DIFFERENT and found is not None:
        was = f"recorded {recorded.property}" if recorded is not None else "recorded clean"
        lines.append(f"DIFFERENT VIOLATION: {found.property} at step {result.step} "
                     f"({was}): {found.detail}")
    elif result.outcome == FIXED and recorded is not None:
        lines.append(f"FIXED: all {count_steps(len(result.actions))} run and no property is "
                     f"violated (recorded: {recorded.property})")
    elif result.outcome == CLEAN:
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
        "exit_code": result.exit_code,
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
