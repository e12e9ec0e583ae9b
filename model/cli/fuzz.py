"""`raftcheck fuzz`: the Hypothesis engine (model/fuzz.py) on the command line, and
`--core pysyncobj` (model/adapters/pysyncobj_fuzz.py)."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from attrs import evolve
from rich.console import Console

from raftcheck.model.cli.common import resolve_seed
from raftcheck.model.fuzz import FuzzResult, fuzz, fuzz_each
from raftcheck.model.fuzz_report import (
    RoundReport,
    fuzz_summary,
    fuzz_verdict,
    report_rounds,
)
from raftcheck.model.options import add_world_arguments, model_from_args
from raftcheck.model.search.pool import check_workers
from raftcheck.model.search.ray_pool import check_address
from raftcheck.model.stateful import FUZZ_BOUNDS, PROFILES, RunStats
from raftcheck.model.trace import count_steps
from raftcheck.model.tracefile import add_save_arguments, record, save_from_args
from raftcheck.model.verdict import Exit, UsageError, Verdict
from raftcheck.model.world import CORE_FAULT, Model

T = TypeVar("T")

def add_arguments(parser: argparse.ArgumentParser) -> None:
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
                        help="processes sharing the batches of runs, or Ray tasks at a "
                             "time with --ray; the result for a seed and --examples does not "
                             "depend on it (default: 1)")
    parser.add_argument("--ray", metavar="ADDRESS", default=None,
                        help="run the batches as Ray tasks: local (a Ray of --workers CPUs "
                             "started here), auto (the cluster this machine is in), "
                             "HOST:PORT or ray://HOST:PORT (needs the ray extra)")
    parser.add_argument("--continue", dest="keep_going", action="store_true",
                        help="after a violation, go on without that property (fresh runs, "
                             "the rest of the budget) and report every property broken, "
                             "each with its own shrunk trace")
    parser.add_argument("--json", action="store_true", help="print a JSON summary only")
    parser.add_argument("--no-progress", action="store_true", help="no live progress display")
    add_save_arguments(parser)
    library = parser.add_argument_group("real libraries (--core pysyncobj, --core raftos; "
                                        "docs/pysyncobj.md, docs/raftos.md)")
    library.add_argument("--network", choices=("any", "fifo"), default="any",
                         help="message order: any in-flight message may be delivered, or only "
                              "the oldest on each link, as over TCP (default: %(default)s)")
    library.add_argument("--pauses", action="store_true",
                         help="also pause every node but one while that node's clock runs to "
                              "its next timer, as a stopped process or a GC pause would")
    library.add_argument("--replay", metavar="FILE", default=None,
                         help="re-run a saved counterexample record of the library")
    library.add_argument("--conformance", action="store_true",
                         help="follow every run with the library's faithful core "
                              "(impl/pysyncobj.py) and report the first step where they "
                              "diverge, instead of property violations")
    library.add_argument("--release", default=None,
                         help="with --conformance: the release whose faithful core to follow "
                              "(default: the installed library's)")


def run(args: argparse.Namespace) -> int:
    if args.examples is not None and args.examples < 1:
        raise UsageError("--examples must be at least 1")
    if args.seconds is not None and args.seconds <= 0:
        raise UsageError("--seconds must be positive")
    if args.steps is not None and args.steps < 1:
        raise UsageError("--steps must be at least 1")
    check_workers(args.workers)
    if args.ray is not None:
        check_address(args.ray)
    seed = resolve_seed(args.seed)
    if args.core in LIBRARIES:  # a real library, not a step function: its own engine
        if args.workers != 1 or args.ray is not None:
            raise UsageError("--workers and --ray apply to step-function cores, not to "
                             f"{args.core}")
        return _run_library(args, seed)
    if args.replay is not None or args.network != "any" or args.conformance or \
            args.release is not None or args.pauses:
        raise UsageError("--replay, --network, --pauses, --conformance and --release apply to "
                         "a library's --core (pysyncobj, raftos) only")
    try:
        model = model_from_args(args, seed)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if model.properties.fair:
        raise UsageError("the fair-cycle progress properties ("
                         + ", ".join(sorted(model.properties.fair_names)) + ") are checked "
                         "by raftcheck explore, not by fuzz; the timed ones need --timed")
    console = Console(stderr=True)
    show_progress = not args.json and not args.no_progress and console.is_terminal
    if not args.json:
        print(f"raftcheck fuzz: core={model.core.name} nodes={model.config.cluster_size} "
              f"timing={model.config.timing} seed={seed} profile={args.profile}")
        print(f"bounds: {model.bounds.describe()}")
    target = progress_target(args.examples, args.seconds, args.profile)
    if args.keep_going:
        return _run_each(args, model, seed, console, show_progress, target)
    result = _with_progress(console, show_progress, target, len(model.goal_names),
                            lambda progress: fuzz(
        model, seed=seed, profile=args.profile, examples=args.examples, seconds=args.seconds,
        steps=args.steps, workers=args.workers, on_progress=progress, ray=args.ray))
    return report(result, model, args.json, saved=_save(args, model, result))


def _save(args: argparse.Namespace, model: Model, result: FuzzResult) -> Path | None:
    """Save the counterexample, if any, as --save/--no-save say; warn if it cannot be."""
    if result.violation is None:
        return None
    saved, save_error = save_from_args(args, record(
        model, engine="fuzz", core_spec=args.core, seed=result.seed, actions=result.actions,
        violation=result.violation, metadata={
            "profile": result.profile, "examples": result.examples, "steps": result.steps,
            "seconds": round(result.seconds, 3)}))
    if save_error is not None:
        print(f"raftcheck fuzz: warning: counterexample not saved: {save_error}",
              file=sys.stderr)
    return saved


def _run_each(args: argparse.Namespace, model: Model, seed: int, console: Console,
              show_progress: bool, target: Callable[[RunStats, float], str]) -> int:
    """--continue: every property broken within the budget, one shrunk trace each."""
    results = _with_progress(console, show_progress, target, len(model.goal_names),
                                  lambda progress: fuzz_each(
        model, seed=seed, profile=args.profile, examples=args.examples, seconds=args.seconds,
        steps=args.steps, workers=args.workers, on_progress=progress, ray=args.ray))
    rounds = []
    broken: list[str] = []
    for result in results:
        current = evolve(model, properties=model.properties.ignoring(broken))
        saved = _save(args, current, result)
        summary = fuzz_summary(result, current)
        summary["trace_file"] = None if saved is None else str(saved)
        text = None
        if result.violation is not None:
            text = (f"{result.trace}\n\nVIOLATION of {result.violation.property} (shrunk to "
                    f"{count_steps(len(result.actions))}; seed {result.seed})")
            if saved is not None:
                text += f"\ntrace saved: {saved} (raftcheck replay {saved})"
        rounds.append(RoundReport(result.seed, tuple(broken), result.examples,
                                  None if result.violation is None else
                                  result.violation.property, text, summary))
        if result.violation is not None and result.violation.property != CORE_FAULT:
            broken.append(result.violation.property)
    verdict = Verdict.VIOLATION if any(r.violated for r in rounds) \
        else fuzz_verdict(results[-1])
    report_rounds(rounds, seed, verdict, args.json)
    return verdict.exit_code


# The real libraries `--core` accepts: the module of each one's engine (model/adapters/), and
# how to install it.
LIBRARIES = {
    "pysyncobj": ("pysyncobj_fuzz", "the pysyncobj extra (pip install 'raftcheck[pysyncobj]')"),
    "raftos": ("raftos_fuzz", "the raftos extra and raftos itself (pip install "
               "'raftcheck[raftos]' && pip install --no-deps raftos==0.2.6; docs/raftos.md)"),
}


def _run_library(args: argparse.Namespace, seed: int) -> int:
    """Exit codes as above, plus 4: the adapter failed (docs/pysyncobj.md, docs/raftos.md)."""
    module, install = LIBRARIES[args.core]
    try:
        engine = importlib.import_module(f"raftcheck.model.adapters.{module}")
    except ImportError as error:
        raise UsageError(f"--core {args.core} needs {install}: {error}") from None
    try:
        result: int = engine.run_cli(args, seed)
    except ValueError as error:
        raise UsageError(str(error)) from None
    return result


def progress_target(examples: int | None, seconds: float | None,
                    profile: str) -> Callable[[RunStats, float], str]:
    """How far a run is toward its budget: runs out of the example budget, or the seconds
    left of a time budget."""
    if seconds is not None:
        return lambda stats, elapsed: f"{max(seconds - elapsed, 0):.0f} s left"
    budget = examples if examples is not None else PROFILES[profile]["max_examples"]
    return lambda stats, elapsed: f"run {min(stats.examples, budget)}/{budget}"


def _with_progress(console: Console, enabled: bool, target: Callable[[RunStats, float], str],
                   goals: int,
                   job: Callable[[Callable[[RunStats], None] | None], T]) -> T:
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
            status.update(f"{target(stats, elapsed)}  steps {stats.steps}  distinct "
                          f"{len(stats.distinct)}  goals {len(stats.goals)}/{goals}  "
                          f"{stats.steps / max(elapsed, 1e-9):,.0f} steps/s")
        return job(progress)


def report(result: FuzzResult, model: Model, as_json: bool, saved: Path | None = None) -> Exit:
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
        for goal in result.goal_names:
            print(f"  goal {'✓' if goal in result.goals else '✗ NOT reached:'} {goal}")
        for goal in result.ruled_out:
            print(f"  goal – {goal} (ruled out by the bounds)")
        if result.violation is not None:
            print()
            print(result.trace)
            if result.violation.property == CORE_FAULT:  # the one-line diagnosis, last
                print(f"\nCORE FAULT at step {len(result.actions)}: {result.violation.detail}")
            else:
                print(f"\nVIOLATION of {result.violation.property} "
                      f"(shrunk to {count_steps(len(result.actions))}; seed {result.seed})")
            if saved is not None:
                print(f"trace saved: {saved} (raftcheck replay {saved})")
        elif result.missing_goals:
            print("INCONCLUSIVE: no violation, but some goals were never reached; "
                  "a run that never gets there checks little")
        else:
            print("CLEAN: no property violated, every goal the bounds allow reached")
    return verdict.exit_code
