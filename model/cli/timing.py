"""`raftcheck timing`: the Raft paper's Figure 16 on a core (model/timing.py): how long a
five-server cluster is without a leader after its leader crashes, per election-timeout range,
beside the paper's figures; `--plot FILE` draws the cumulative distributions."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console

from raftcheck.model.cli.common import add_force_argument, refuse_to_overwrite, resolve_seed
from raftcheck.model.cores import CoreLoadError, load_core
from raftcheck.model.search.pool import check_workers
from raftcheck.model.timing import (
    PAPER_FIGURES,
    PLOT_SUFFIXES,
    NoLeaderBeforeCrash,
    RangeResult,
    Setup,
    broadcast_ms,
    measure,
    parse_ranges,
    plot,
    plotting_available,
)
from raftcheck.model.verdict import Exit, UsageError
from raftcheck.model.world import CoreFault

MAX_TRIALS = 100_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--core", default="raft",
                        help="core to time: raft (bundled), a broken core's name, "
                             "module:object or path.py:object (default: raft)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed for the trials (default: drawn at random and printed)")
    parser.add_argument("--trials", type=int, default=1_000,
                        help="crashes per election-timeout range (default: %(default)s)")
    parser.add_argument("--ranges", default="paper",
                        help="election-timeout ranges in ms, comma-separated LOW-HIGH, or "
                             "'paper' for the paper's ten: 150-150,150-151,150-155,150-175,"
                             "150-200,150-300,12-24,25-50,50-100,100-200 (default: paper)")
    parser.add_argument("--nodes", type=int, default=5,
                        help="servers in the cluster, 3 to 9 (default: 5, as in the paper)")
    parser.add_argument("--delay", default="1+3.5", metavar="FIXED+MEAN",
                        help="one-way message delay in ms: FIXED plus an exponentially "
                             "distributed extra of mean MEAN (default: %(default)s, a "
                             "broadcast time of 14.4 ms)")
    parser.add_argument("--cap", type=float, default=30.0, metavar="SECONDS",
                        help="simulated seconds without a leader after which a trial is cut "
                             "off and counted as longer than that (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes sharing the trials; the results do not depend on it "
                             "(default: 1)")
    parser.add_argument("--plot", metavar="FILE", default=None,
                        help="draw the cumulative distributions, like the paper's Figure 16, "
                             "to FILE (.png or .svg; needs the plot extra: matplotlib)")
    add_force_argument(parser)
    parser.add_argument("--json", action="store_true", help="print a JSON report only")
    parser.add_argument("--no-progress", action="store_true", help="no live progress display")


def parse_delay(text: str) -> tuple[float, float]:
    fixed_text, plus, extra_text = text.partition("+")
    try:
        fixed, extra = float(fixed_text), float(extra_text if plus else "0")
    except ValueError:
        raise UsageError(f"--delay: expected FIXED+MEAN in ms, e.g. 1+3.5, got {text!r}") \
            from None
    if not (math.isfinite(fixed) and math.isfinite(extra)):
        raise UsageError(f"--delay: expected finite numbers, got {text!r}")
    return fixed, extra


def setup_from_args(args: argparse.Namespace) -> Setup:
    if not 1 <= args.trials <= MAX_TRIALS:
        raise UsageError(f"--trials must be between 1 and {MAX_TRIALS:,}, got {args.trials}")
    if not (math.isfinite(args.cap) and 0 < args.cap <= 3_600):
        raise UsageError(f"--cap must be more than 0 and at most 3,600 seconds, got {args.cap}")
    try:
        return Setup(nodes=args.nodes, delay_ms=parse_delay(args.delay),
                     cap_ms=args.cap * 1_000)
    except ValueError as error:
        raise UsageError(str(error)) from None


def run(args: argparse.Namespace) -> int:
    setup = setup_from_args(args)
    try:
        ranges = parse_ranges(args.ranges)
    except ValueError as error:
        raise UsageError(f"--ranges: {error}") from None
    check_workers(args.workers)
    if args.plot is not None:
        if not args.plot.lower().endswith(PLOT_SUFFIXES):
            raise UsageError(f"--plot: {args.plot} must end in .png or .svg")
        if not plotting_available():
            raise UsageError("--plot needs matplotlib: pip install 'raftcheck[plot]'")
        refuse_to_overwrite(args.plot, args.force)
    try:
        core = load_core(args.core)
    except CoreLoadError as error:
        raise UsageError(str(error)) from None
    seed = resolve_seed(args.seed)
    say: Callable[[str], None] = (lambda text: None) if args.json else print
    say(f"raftcheck timing: core={core.name} nodes={setup.nodes} seed={seed} "
        f"trials={args.trials:,} per range workers={args.workers}")
    fixed, extra = setup.delay_ms
    say(f"network: one-way delay {fixed:g} ms + exponential of mean {extra:g} ms; broadcast "
        f"time {broadcast_ms(setup):.1f} ms (the paper's: roughly 15 ms)")
    say("timers: election timeout uniform in the range, redrawn at every restart; heartbeat "
        "every half the minimum; the leader crashes uniformly within its heartbeat interval "
        f"and stays down; a trial is cut off after {setup.cap_ms / 1_000:g} s")
    console = Console(stderr=True)
    show_progress = not args.json and not args.no_progress and console.is_terminal
    started = time.monotonic()
    results: list[RangeResult] = []
    interrupted = False
    header_printed = False
    try:
        with _Progress(console, show_progress, args.trials) as progress:
            for result in measure(core, seed=seed, ranges=ranges, trials=args.trials,
                                  setup=setup, workers=args.workers, on_progress=progress):
                results.append(result)
                if not header_printed:
                    say("")
                    say(HEADER)
                    header_printed = True
                say(row(result, setup))
    except KeyboardInterrupt:
        interrupted = True
    except CoreFault as fault:
        _stopped(args.json, core.name, seed, "core_fault", f"CORE FAULT: {fault}", str(fault))
        return Exit.VIOLATION
    except NoLeaderBeforeCrash as reason:
        _stopped(args.json, core.name, seed, "inconclusive", f"INCONCLUSIVE: {reason}",
                 str(reason))
        return Exit.INCONCLUSIVE
    seconds = time.monotonic() - started
    if args.json:
        print(json.dumps(report(core.name, seed, args.trials, setup, results, seconds,
                                args.workers, interrupted), indent=2))
    else:
        done = sum(len(result.trials) for result in results)
        say(f"\n{done:,} trials in {seconds:.1f} s ({args.workers} "
            f"worker{'s' if args.workers != 1 else ''}); milliseconds from the crash until a "
            "server becomes leader; 'elections': terms it took, 1 when the first won")
    if interrupted:
        print(f"INTERRUPTED after {len(results)} of {len(ranges)} ranges: the table is "
              "partial", file=sys.stderr if args.json else sys.stdout)
        return Exit.INCONCLUSIVE
    if args.plot is not None:
        try:
            plot(results, args.plot, seed=seed, setup=setup, core=core.name)
        except OSError as error:
            raise UsageError(f"cannot write {args.plot}: {error.strerror or error}") from None
        say(f"plot: {args.plot}")
    return Exit.CLEAN


def _stopped(as_json: bool, core: str, seed: int, key: str, line: str, reason: str) -> None:
    """Why the measurement stopped before its end: one line, or one JSON object."""
    if as_json:
        print(json.dumps({"engine": "timing", "core": core, "seed": seed, key: reason},
                         indent=2))
    else:
        print(f"\n{line}")


class _Progress:
    """A live status line on stderr (rich) while trials run, or nothing."""

    def __init__(self, console: Console, enabled: bool, trials: int) -> None:
        self.console, self.enabled, self.trials = console, enabled, trials
        self.status: Any = None

    def __enter__(self) -> Callable[[tuple[int, int], int], None] | None:
        if not self.enabled:
            return None
        self.status = self.console.status("timing…")
        self.status.__enter__()
        return self.update

    def update(self, timeout_ms: tuple[int, int], done: int) -> None:
        self.status.update(f"timing {timeout_ms[0]}-{timeout_ms[1]} ms: "
                           f"{done:,}/{self.trials:,} trials")

    def __exit__(self, *exc: object) -> None:
        if self.status is not None:
            self.status.__exit__(*exc)


HEADER = (f"{'range (ms)':<11}{'median':>9}{'mean':>10}{'p99':>9}{'max':>9}"
          f"{'cut off':>9}{'elections':>11}  paper (5 servers; Figure 16, §9.3)")


def _ms(value: float, cap_ms: float) -> str:
    return f"> {cap_ms:,.0f}" if math.isinf(value) else f"{value:,.0f}"


def row(result: RangeResult, setup: Setup) -> str:
    """One line of the table. A statistic that falls on a trial cut off by the cap is shown as
    more than the cap; the mean of a range with such trials as at least the mean counting
    each of them at the cap."""
    mean = (f"≥ {result.mean_at_cap(setup.cap_ms):,.0f}" if result.censored
            else f"{result.mean:,.0f}")
    return (f"{result.label:<11}{_ms(result.median, setup.cap_ms):>9}{mean:>10}"
            f"{_ms(result.p99, setup.cap_ms):>9}{_ms(result.maximum, setup.cap_ms):>9}"
            f"{result.censored:>9,}{result.mean_terms:>11.2f}  "
            f"{PAPER_FIGURES.get(result.timeout_ms, '—')}")


def _finite(value: float) -> float | None:
    return None if math.isinf(value) else round(value, 3)


def report(core: str, seed: int, trials: int, setup: Setup, results: list[RangeResult],
           seconds: float, workers: int, interrupted: bool) -> dict[str, Any]:
    """The JSON report: a statistic that falls on a trial cut off by the cap is null, and the
    range's `cut_off` says how many were."""
    return {
        "engine": "timing", "core": core, "seed": seed, "nodes": setup.nodes,
        "trials_per_range": trials,
        "delay_ms": {"fixed": setup.delay_ms[0], "exponential_mean": setup.delay_ms[1]},
        "broadcast_ms": round(broadcast_ms(setup), 3), "cap_ms": setup.cap_ms,
        "seconds": round(seconds, 3), "workers": workers, "interrupted": interrupted,
        "ranges": [{
            "timeout_ms": list(result.timeout_ms), "trials": len(result.trials),
            "median_ms": _finite(result.median), "mean_ms": _finite(result.mean),
            "mean_at_cap_ms": round(result.mean_at_cap(setup.cap_ms), 3),
            "p99_ms": _finite(result.p99), "max_ms": _finite(result.maximum),
            "cut_off": result.censored, "mean_elections": round(result.mean_terms, 4),
            "paper": PAPER_FIGURES.get(result.timeout_ms),
            "times_ms": [_finite(value) for value in result.times],
        } for result in results],
    }
