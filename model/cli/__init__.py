"""`raftcheck`: one entry point, a subcommand per engine.

Exit codes, the same for every subcommand:
  0  clean: every property held and the run was conclusive
  1  a property was violated (the counterexample is printed)
  2  bad usage or input (one-line message on stderr)
  3  inconclusive: the search stopped on a bound/limit, or reached none of the goals
  4  the PySyncObj adapter failed (fuzz --core pysyncobj): not a finding about Raft
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from rich.console import Console

from raftcheck.model.cores import BUNDLED
from raftcheck.model.fuzz import FuzzResult, fuzz
from raftcheck.model.options import add_world_arguments, model_from_args
from raftcheck.model.stateful import FUZZ_BOUNDS, PROFILES, RunStats
from raftcheck.model.tracefile import add_save_arguments, record, save_from_args
from raftcheck.model.world import CORE_FAULT, Model
from raftcheck.properties import GOALS

EXIT_CLEAN, EXIT_VIOLATION, EXIT_USAGE, EXIT_INCONCLUSIVE = 0, 1, 2, 3


class UsageError(Exception):
    """Bad input detected after argument parsing; reported in one line, exit 2."""


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"raftcheck: error: {message}\n")


# ------------------------------------------------------------------------------ shared options


def resolve_seed(seed: int | None) -> int:
    """A run without --seed still has one: drawn here and printed, so it can be replayed."""
    return random.SystemRandom().randrange(2**32) if seed is None else seed


# ------------------------------------------------------------------------------ fuzz


def add_fuzz_arguments(parser: argparse.ArgumentParser) -> None:
    add_world_arguments(parser, FUZZ_BOUNDS)
    parser.add_argument("--seed", type=int, default=None,
                        help="seed for the run (default: drawn at random and printed)")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="ci",
                        help="Hypothesis settings profile (default: ci)")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--examples", type=int, default=None,
                        help="number of runs to try (default: the profile's)")
    budget.add_argument("--seconds", type=float, default=None, help="time budget instead")
    parser.add_argument("--steps", type=int, default=None,
                        help="actions per run (default: the profile's)")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes sharing the batches of runs; the result for a seed "
                             "and --examples does not depend on it (default: 1)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary only")
    parser.add_argument("--no-progress", action="store_true", help="no live progress display")
    add_save_arguments(parser)
    library = parser.add_argument_group("PySyncObj (--core pysyncobj; docs/pysyncobj.md)")
    library.add_argument("--network", choices=("any", "fifo"), default="any",
                         help="message order: any in-flight message may be delivered, or only "
                              "the oldest on each link, as over TCP (default: %(default)s)")
    library.add_argument("--replay", metavar="FILE", default=None,
                         help="re-run a saved PySyncObj counterexample record")


def run_fuzz(args: argparse.Namespace) -> int:
    if args.examples is not None and args.examples < 1:
        raise UsageError("--examples must be at least 1")
    if args.seconds is not None and args.seconds <= 0:
        raise UsageError("--seconds must be positive")
    if args.steps is not None and args.steps < 1:
        raise UsageError("--steps must be at least 1")
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    seed = resolve_seed(args.seed)
    if args.core == "pysyncobj":  # a real library, not a step function: its own engine
        if args.workers != 1:
            raise UsageError("--workers applies to step-function cores, not to pysyncobj")
        return _run_pysyncobj(args, seed)
    if args.replay is not None or args.network != "any":
        raise UsageError("--replay and --network apply to --core pysyncobj only")
    try:
        model = model_from_args(args, seed)
    except ValueError as error:
        raise UsageError(str(error)) from None
    console = Console(stderr=True)
    show_progress = not args.json and not args.no_progress and console.is_terminal
    if not args.json:
        print(f"raftcheck fuzz: core={model.core.name} nodes={model.config.cluster_size} "
              f"timing={model.config.timing} seed={seed} profile={args.profile}")
        print(f"bounds: {model.bounds.describe()}")
    result = _with_progress(console, show_progress, lambda progress: fuzz(
        model, seed=seed, profile=args.profile, examples=args.examples, seconds=args.seconds,
        steps=args.steps, workers=args.workers, on_progress=progress))
    saved = save_error = None
    if result.violation is not None:
        saved, save_error = save_from_args(args, record(
            model, engine="fuzz", core_spec=args.core, seed=seed, actions=result.actions,
            violation=result.violation, metadata={
                "profile": result.profile, "examples": result.examples, "steps": result.steps,
                "seconds": round(result.seconds, 3)}))
        if save_error is not None:
            print(f"raftcheck fuzz: warning: counterexample not saved: {save_error}",
                  file=sys.stderr)
    return report_fuzz(result, model, args.json, saved=saved)


def _run_pysyncobj(args: argparse.Namespace, seed: int) -> int:
    """Exit codes as above, plus 4: the adapter failed (docs/pysyncobj.md)."""
    try:
        from raftcheck.model.adapters import pysyncobj_fuzz
    except ImportError as error:
        raise UsageError(f"--core pysyncobj needs the pysyncobj extra "
                         f"(pip install 'raftcheck[pysyncobj]'): {error}") from None
    try:
        return pysyncobj_fuzz.run_cli(args, seed)
    except ValueError as error:
        raise UsageError(str(error)) from None


def _with_progress(console: Console, enabled: bool,
                   job: Callable[[Callable[[RunStats], None] | None], FuzzResult]) -> FuzzResult:
    if not enabled:
        return job(None)
    last = [0.0]
    with console.status("fuzzing…") as status:
        def progress(stats: RunStats) -> None:
            now = time.monotonic()
            if now - last[0] < 0.25:
                return
            last[0] = now
            elapsed = now - stats.started
            status.update(f"examples {stats.examples}  steps {stats.steps}  distinct "
                          f"{len(stats.distinct)}  goals {len(stats.goals)}/{len(GOALS)}  "
                          f"{stats.steps / max(elapsed, 1e-9):,.0f} steps/s")
        return job(progress)


def fuzz_summary(result: FuzzResult, model: Model) -> dict[str, Any]:
    return {
        "engine": "fuzz",
        "core": model.core.name,
        "nodes": model.config.cluster_size,
        "timing": model.config.timing,
        "bounds": model.bounds.describe(),
        "seed": result.seed,
        "profile": result.profile,
        "examples": result.examples,
        "steps": result.steps,
        "distinct_states": result.distinct_states,
        "seconds": round(result.seconds, 3),
        "goals_reached": sorted(result.goals),
        "goals_missing": result.missing_goals,
        "verdict": fuzz_verdict(result),
        "violation": None if result.violation is None else {
            "property": result.violation.property,
            "detail": result.violation.detail,
            "why": result.violation.why,
            "nodes": list(result.violation.nodes),
            "index": result.violation.index,
            "term": result.violation.term,
            "trace_length": len(result.actions),
            "actions": [repr(action) for action in result.actions],
        },
    }


def fuzz_verdict(result: FuzzResult) -> str:
    if result.violation is not None:
        return "violation"
    return "clean" if not result.missing_goals else "inconclusive"


def report_fuzz(result: FuzzResult, model: Model, as_json: bool,
                saved: Path | None = None) -> int:
    """Print the result; `saved` is the trace file the counterexample went to, if any."""
    verdict = fuzz_verdict(result)
    if as_json:
        summary = fuzz_summary(result, model)
        summary["trace_file"] = None if saved is None else str(saved)
        print(json.dumps(summary, indent=2))
    else:
        print(f"seed {result.seed}: {result.examples} runs, {result.steps} steps, "
              f"{result.distinct_states} distinct states in {result.seconds:.1f} s "
              f"({result.steps / max(result.seconds, 1e-9):,.0f} steps/s)")
        for goal in GOALS:
            print(f"  goal {'✓' if goal in result.goals else '✗ NOT reached:'} {goal}")
        if result.violation is not None:
            print()
            print(result.trace)
            if result.violation.property == CORE_FAULT:  # the one-line diagnosis, last
                print(f"\nCORE FAULT at step {len(result.actions)}: {result.violation.detail}")
            else:
                print(f"\nVIOLATION of {result.violation.property} "
                      f"(shrunk to {len(result.actions)} steps; seed {result.seed})")
            if saved is not None:
                print(f"trace saved: {saved} (raftcheck replay {saved})")
        elif result.missing_goals:
            print("INCONCLUSIVE: no violation, but some goals were never reached; "
                  "a run that never gets there checks little")
        else:
            print("CLEAN: no property violated, every goal reached")
    return {"violation": EXIT_VIOLATION, "clean": EXIT_CLEAN}.get(verdict, EXIT_INCONCLUSIVE)


# ------------------------------------------------------------------------------ main


Command = tuple[str, Callable[[argparse.ArgumentParser], None],
                Callable[[argparse.Namespace], int]]


def commands() -> list[Command]:
    from raftcheck.model import check

    found: list[Command] = [
        ("check", check.add_arguments, check.run),
        ("fuzz", add_fuzz_arguments, run_fuzz),
    ]
    try:
        from raftcheck.model import explore
    except ImportError:  # pragma: no cover - engine not present in this build
        pass
    else:
        found.append(("explore", explore.add_arguments, explore.run))
    from raftcheck.model import breaking

    found.append(("break", breaking.add_arguments, breaking.run))
    from raftcheck.model import replay

    found.append(("replay", replay.add_arguments, replay.run))
    from raftcheck.model import diff

    found.append(("diff", diff.add_arguments, diff.run))
    from raftcheck.model.prove import cli as prove_cli

    found.append(("prove", prove_cli.add_arguments, prove_cli.run))
    return found


HELP = {
    "prove": "z3: the safety invariant is inductive for bounded sizes, or a minimal CTI",
    "break": "every engine against every bug in the zoo of broken cores: which catches what, "
             "how fast, how short",
    "diff": "verify a refactor: drive two cores with the same schedules and show where they "
            "first disagree (--compare state/messages/properties)",
    "check": "the full default suite against a core: scenarios, fuzzing, exhaustive search",
    "fuzz": "Hypothesis stateful exploration for a budget of runs or seconds",
    "explore": "bounded exhaustive search (BFS/DFS/simulation) with shortest counterexamples",
    "replay": "re-run a saved trace file against a core; --shrink, --format mermaid|html",
}


def build_parser() -> tuple[ArgumentParser, dict[str, Callable[[argparse.Namespace], int]]]:
    parser = ArgumentParser(prog="raftcheck", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--list-cores", action="store_true",
                        help="list the bundled and deliberately broken cores and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    runners = {}
    for name, add_arguments, run in commands():
        subparser = sub.add_parser(name, help=HELP.get(name), description=HELP.get(name))
        add_arguments(subparser)
        runners[name] = run
    return parser, runners


def main(argv: Sequence[str] | None = None) -> int:
    parser, runners = build_parser()
    args = parser.parse_args(argv)
    if args.list_cores:
        for name, core in BUNDLED.items():
            doc = (type(core).__doc__ or "").strip().split("\n")[0]
            print(f"{name:36s} {doc}")
        return EXIT_CLEAN
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return runners[args.command](args)
    except UsageError as error:
        print(f"raftcheck {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("raftcheck: interrupted", file=sys.stderr)
        return EXIT_INCONCLUSIVE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
