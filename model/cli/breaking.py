"""`raftcheck break`: the bug zoo hunt (model/breaking.py) on the command line, as one table;
`--list`, `--show`, `--save`, `--json`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from raftcheck.impl.raft import CORE
from raftcheck.model.breaking import (
    DEFAULT_EXPLORE_SECONDS,
    DEFAULT_FUZZ_SECONDS,
    Hunt,
    Report,
    hunt,
    hunt_exhaustive,
    hunt_lasso,
    hunt_liveness,
    overall,
    scenario_outcomes,
)
from raftcheck.model.cli.common import resolve_seed
from raftcheck.model.search.pool import check_workers
from raftcheck.model.stateful import FUZZ_BOUNDS
from raftcheck.model.trace import count_steps, render_trace, replayable
from raftcheck.model.verdict import Exit, UsageError, Verdict
from raftcheck.model.world import Config, Model
from raftcheck.model.zoo import BUGS, LASSO_BOUNDS, LIVENESS_BUGS, Bug, LivenessBug


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bugs", nargs="*", metavar="NAME",
                        help="zoo bugs to run (default: all; see --list)")
    parser.add_argument("--list", action="store_true", help="list the zoo and exit")
    parser.add_argument("--liveness", action="store_true",
                        help="hunt the liveness zoo (impl/stalled.py) instead: the Hypothesis "
                             "engine in the timed world with the progress properties, for "
                             "--fuzz-seconds per bug, and the exhaustive lasso search in the "
                             "untimed world, for --explore-seconds (docs/liveness.md)")
    parser.add_argument("--show", metavar="NAME",
                        help="print the shortest counterexample for one bug in full")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed for the Hypothesis engine (default: random, printed)")
    parser.add_argument("--engines", default="exhaustive,hypothesis",
                        help="comma-separated: exhaustive, hypothesis (default: both)")
    parser.add_argument("--explore-seconds", type=float, default=DEFAULT_EXPLORE_SECONDS,
                        help="time budget per bug for the exhaustive engine "
                             "(default: %(default)s)")
    parser.add_argument("--fuzz-seconds", type=float, default=DEFAULT_FUZZ_SECONDS,
                        help="time budget per bug for the Hypothesis engine "
                             "(default: %(default)s)")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes per engine: BFS levels and Hypothesis batches are "
                             "shared out; results do not depend on it (default: 1)")
    parser.add_argument("--save", metavar="DIR", default=None,
                        help="save every counterexample found as a trace file in DIR "
                             "(<engine>-<bug>.json; replay with `raftcheck replay`)")
    parser.add_argument("--json", action="store_true", help="print a JSON report only")


def run(args: argparse.Namespace) -> int:
    if args.liveness and not args.list:
        return run_liveness(args)
    unknown = [name for name in [*args.bugs, *([args.show] if args.show else [])]
               if name not in BUGS]
    if unknown:
        raise UsageError(f"unknown bug {unknown[0]!r}; `raftcheck break --list` names them")
    engines = [engine.strip() for engine in args.engines.split(",") if engine.strip()]
    if not engines or any(engine not in ("exhaustive", "hypothesis") for engine in engines):
        raise UsageError("--engines takes exhaustive, hypothesis or both")
    for option in ("explore_seconds", "fuzz_seconds"):
        if getattr(args, option) <= 0:
            raise UsageError(f"--{option.replace('_', '-')} must be positive")
    check_workers(args.workers)
    if args.list:
        if args.json and args.liveness:
            print(json.dumps([{"bug": bug.name, "summary": bug.summary, "breaks": bug.breaks,
                               "seed": bug.seed, "examples": bug.examples,
                               "lassos": list(bug.lassos)}
                              for bug in LIVENESS_BUGS.values()], indent=2))
            return Exit.CLEAN
        if args.json:
            print(json.dumps([{"bug": bug.name, "summary": bug.summary, "needs": bug.needs,
                               "nodes": bug.nodes, "breaks": bug.breaks,
                               "shortest": bug.shortest} for bug in BUGS.values()], indent=2))
            return Exit.CLEAN
        if not args.liveness:
            for bug in BUGS.values():
                print(f"{bug.name:34s} {bug.summary}")
            print()
        print("liveness (safe, but stop making progress; raftcheck break --liveness, "
              "caught by the progress properties: raftcheck fuzz --timed --liveness, and "
              "raftcheck explore --liveness):")
        for live in LIVENESS_BUGS.values():
            print(f"{live.name:34s} [{live.breaks}] {live.summary}")
        return Exit.CLEAN
    if args.show:
        return show(BUGS[args.show], args.explore_seconds, args.json)
    seed = resolve_seed(args.seed)
    chosen = [BUGS[name] for name in args.bugs] or list(BUGS.values())
    say: Callable[[str], None] = (lambda text: None) if args.json else print
    say(f"raftcheck break: {len(chosen)} bugs, engines={','.join(engines)}, seed={seed}, "
        f"budgets: exhaustive {args.explore_seconds:g} s, hypothesis {args.fuzz_seconds:g} s "
        "per bug")
    correct = scenario_outcomes(CORE)
    console = Console(stderr=True)
    reports: list[Report] = []
    for bug in chosen:
        with console.status(f"hunting {bug.name}…") if console.is_terminal and not args.json \
                else _Null():
            reports.append(hunt(bug, seed=seed, engines=engines,
                                explore_seconds=args.explore_seconds,
                                fuzz_seconds=args.fuzz_seconds, workers=args.workers))
        if reports[-1].interrupted:  # Ctrl-C stops the whole run, not one hunt
            break
    escaped = [report for report in reports if report.verdict is Verdict.ESCAPED]
    saved = save_all(reports, args.save, seed) if args.save else {}
    if args.json:
        print(json.dumps({"engine": "break", "seed": seed, "engines": engines,
                          "correct_core_scenarios": correct,
                          "verdict": overall(reports).value.lower(),
                          "all_caught": overall(reports) is Verdict.ALL_CAUGHT, "saved": saved,
                          "bugs": [_json(report) for report in reports]}, indent=2))
    else:
        out = Console()
        if not out.is_terminal:
            out = Console(width=200)
        out.print(table(reports, correct))
        for path in saved.values():
            print(f"saved {path}")
        if escaped:
            print("ESCAPED: " + ", ".join(report.bug.name for report in escaped)
                  + " (not caught within the budget by every engine)")
        elif overall(reports) is Verdict.INCONCLUSIVE:
            print(f"INCONCLUSIVE: interrupted during {reports[-1].bug.name}; "
                  f"{len(reports) - 1} of {len(chosen)} bugs hunted in full")
        else:
            print(f"every bug caught by every engine ({len(reports)} bugs)")
    return overall(reports).exit_code


def save_all(reports: Sequence[Report], directory: str, seed: int) -> dict[str, str]:
    """Every counterexample as a trace file in `directory`; {"engine/bug": path}. A file
    that cannot be written is reported on stderr and skipped: the table still prints."""
    from raftcheck.model.tracefile import TraceFileError, record, save_counterexample

    saved: dict[str, str] = {}
    for report in reports:
        bug = report.bug
        for hunt_ in (report.exhaustive, report.hypothesis):
            if hunt_ is None or not hunt_.found:
                continue
            exhaustive = hunt_.engine == "exhaustive"
            model = Model(bug.core, Config(bug.nodes), bug.bounds if exhaustive else FUZZ_BOUNDS)
            trace = record(model, engine=f"break-{hunt_.engine}", core_spec=bug.name,
                           seed=None if exhaustive else seed, actions=hunt_.actions,
                           violation=hunt_.violation)
            try:
                path = save_counterexample(trace, Path(directory) / f"{hunt_.engine}-"
                                                                    f"{bug.name}.json")
            except TraceFileError as error:
                print(f"raftcheck break: could not save {bug.name}: {error}", file=sys.stderr)
                continue
            saved[f"{hunt_.engine}/{bug.name}"] = str(path)
    return saved


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def show(bug: Bug, max_seconds: float, as_json: bool = False) -> int:
    """The bug, its bounds, and its shortest counterexample in full."""
    found = hunt_exhaustive(bug, max_seconds)
    verdict = (Verdict.INCONCLUSIVE if found.interrupted else
               Verdict.ALL_CAUGHT if found.found and found.violation is not None else
               Verdict.ESCAPED)
    if as_json:
        print(json.dumps({"bug": bug.name, "bounds": bug.bounds.describe(),
                          "verdict": verdict.value.lower(), "found": found.found,
                          "interrupted": found.interrupted, "property": found.property,
                          "length": found.length, "states": found.states,
                          "seconds": round(found.seconds, 3),
                          "actions": [repr(action) for action in found.actions]}, indent=2))
        return verdict.exit_code
    print(f"{bug.name}: {' '.join((type(bug.core).__doc__ or '').split())}")
    print(f"needs: {bug.needs}; bounds: {bug.bounds.describe()}")
    if found.interrupted:
        print(f"interrupted after {found.seconds:.1f} s ({found.states:,} states): no verdict")
        return Verdict.INCONCLUSIVE.exit_code
    if not found.found or found.violation is None:
        print(f"not found by BFS within {max_seconds:g} s")
        return Verdict.ESCAPED.exit_code
    model = Model(bug.core, Config(bug.nodes), bug.bounds)
    print(render_trace(model, list(found.actions), found.violation,
                       title=f"Shortest counterexample ({count_steps(found.length)}, "
                             f"{found.states:,} states, {found.seconds:.1f} s)"))
    print("\nReplay with Model(core, config, bounds).run(actions):")
    print(replayable(list(found.actions)))
    return Verdict.ALL_CAUGHT.exit_code


def _cell(hunt_: Hunt | None) -> str:
    if hunt_ is None:
        return "-"
    if hunt_.interrupted:
        return f"[yellow]interrupted[/] after {hunt_.seconds:.0f} s"
    if not hunt_.found:
        return f"[bold red]missed[/] in {hunt_.seconds:.0f} s"
    if hunt_.engine == "exhaustive":
        return (f"[green]✓[/] {count_steps(hunt_.length)}, {hunt_.states:,} st, "
                f"{hunt_.seconds:.1f} s")
    if hunt_.engine == "lasso" and hunt_.length is not None and hunt_.raw_length is not None:
        return (f"[green]✓[/] {hunt_.length - hunt_.raw_length} + {hunt_.raw_length} "
                f"steps, {hunt_.states:,} st, {hunt_.seconds:.1f} s")
    return (f"[green]✓[/] {hunt_.seconds:.1f} s, {count_steps(hunt_.length)} "
            f"(from {hunt_.raw_length})")


def table(reports: Sequence[Report], correct: dict[str, bool]) -> Table:
    passing = all(correct.values())
    caption = ("correct core: passes " if passing else "correct core: [bold red]FAILS[/] ") + \
        ", ".join(name for name, ok in correct.items() if ok == passing)
    grid = Table(title="raftcheck break: the bug zoo", caption=caption)
    for column in ("bug", "needs", "property violated", "exhaustive (BFS)", "Hypothesis",
                   "seed experiments it breaks"):
        grid.add_column(column)
    for report in reports:
        properties = sorted({hunt_.property for hunt_ in (report.exhaustive, report.hypothesis)
                             if hunt_ is not None and hunt_.property is not None})
        broken = [name for name, ok in report.scenarios.items() if not ok]
        needs = report.bug.needs.replace("no faults (reordering only)", "-")
        grid.add_row(report.bug.name, needs, " / ".join(properties) or "-",
                     _cell(report.exhaustive), _cell(report.hypothesis),
                     ", ".join(broken) or "none")
    return grid


def _json(report: Report) -> dict[str, Any]:
    def hunt_json(hunt_: Hunt | None) -> dict[str, Any] | None:
        if hunt_ is None:
            return None
        return {"found": hunt_.found, "interrupted": hunt_.interrupted,
                "property": hunt_.property,
                "seconds": round(hunt_.seconds, 3), "states_or_examples": hunt_.states,
                "length": hunt_.length, "raw_length": hunt_.raw_length,
                "actions": [repr(action) for action in hunt_.actions]}

    return {"bug": report.bug.name, "summary": report.bug.summary, "needs": report.bug.needs,
            "bounds": report.bug.bounds.describe(), "expected_property": report.bug.breaks,
            "expected_shortest": report.bug.shortest,
            "exhaustive": hunt_json(report.exhaustive),
            "hypothesis": hunt_json(report.hypothesis),
            "scenarios_broken": [name for name, ok in report.scenarios.items() if not ok],
            "caught": report.caught}


def run_liveness(args: argparse.Namespace) -> int:
    """`raftcheck break --liveness`: the liveness zoo against both progress checks, one
    Hypothesis hunt per bug in the timed world (the deadlines) and the exhaustive lasso
    search in the untimed world (fair cycles). Exit 0 when every bug is caught by one of
    them, 1 when one escapes both, 3 when a search was interrupted before catching it."""
    unknown = [name for name in args.bugs if name not in LIVENESS_BUGS]
    if unknown or args.show or args.save:
        raise UsageError(f"unknown liveness bug {unknown[0]!r}; `raftcheck break --list` "
                         "names them" if unknown else "--show and --save apply to the "
                         "safety zoo")
    for option in ("explore_seconds", "fuzz_seconds"):
        if getattr(args, option) <= 0:
            raise UsageError(f"--{option.replace('_', '-')} must be positive")
    seed = resolve_seed(args.seed)
    chosen = [LIVENESS_BUGS[name] for name in args.bugs] or list(LIVENESS_BUGS.values())
    say: Callable[[str], None] = (lambda text: None) if args.json else print
    say(f"raftcheck break --liveness: {len(chosen)} bugs, seed={seed}, budgets: hypothesis "
        f"(timed) {args.fuzz_seconds:g} s, lasso search (untimed, "
        f"{LASSO_BOUNDS.describe()}) {args.explore_seconds:g} s per bug")
    hunts: list[tuple[LivenessBug, Hunt, Hunt]] = []
    for bug in chosen:
        lasso = hunt_lasso(bug, args.explore_seconds)
        hunts.append((bug, hunt_liveness(bug, seed, args.fuzz_seconds), lasso))
        if lasso.interrupted:
            break
    # escaped: caught by neither check, or missed by the lasso search where the catalogue
    # says it finds a lasso (a regression of the search)
    escaped = [bug.name for bug, found, lasso in hunts if not lasso.interrupted and (
        (not found.found and not lasso.found) or (bug.lassos and not lasso.found))]
    verdict = (Verdict.ESCAPED if escaped else
               Verdict.INCONCLUSIVE if len(hunts) < len(chosen) or any(
                   lasso.interrupted and not found.found for _, found, lasso in hunts)
               else Verdict.ALL_CAUGHT)
    if args.json:
        print(json.dumps({"engine": "break", "kind": "liveness", "seed": seed,
                          "verdict": verdict.value.lower(),
                          "all_caught": verdict is Verdict.ALL_CAUGHT, "bugs": [
                              {"bug": bug.name, "summary": bug.summary,
                               "expected_property": bug.breaks, "found": found.found,
                               "property": found.property,
                               "seconds": round(found.seconds, 3), "examples": found.states,
                               "length": found.length, "raw_length": found.raw_length,
                               "lasso": {"expected": list(bug.lassos), "found": lasso.found,
                                         "property": lasso.property,
                                         "interrupted": lasso.interrupted,
                                         "seconds": round(lasso.seconds, 3),
                                         "states": lasso.states, "length": lasso.length,
                                         "cycle": lasso.raw_length}}
                              for bug, found, lasso in hunts]}, indent=2))
    else:
        grid = Table(title="raftcheck break --liveness: the liveness zoo")
        for column in ("bug", "Hypothesis (timed, --liveness)", "property",
                       "lasso search (untimed, exhaustive)", "property"):
            grid.add_column(column)
        for bug, found, lasso in hunts:
            none = not lasso.found and not lasso.interrupted and not bug.lassos
            grid.add_row(bug.name, _cell(found), found.property or "-",
                         f"no lasso (none expected), {lasso.states:,} st, "
                         f"{lasso.seconds:.1f} s" if none else _cell(lasso),
                         lasso.property or "-")
        out = Console()
        if not out.is_terminal:
            out = Console(width=200)
        out.print(grid)
        if escaped:
            print("ESCAPED: " + ", ".join(escaped) + " (caught by neither check, or no "
                  "lasso where the catalogue expects one)")
        elif verdict is Verdict.INCONCLUSIVE:
            print(f"INCONCLUSIVE: interrupted during {hunts[-1][0].name}")
        else:
            print(f"every liveness bug caught by at least one check ({len(hunts)} bugs)")
    return verdict.exit_code
