"""How often the Hypothesis engine catches each zoo bug within a run budget, with confidence
intervals: the measurement to make before keeping or dropping a change to the machine.

For each bug, seeds 0..S-1 each get a budget of E runs; the figure is the share of seeds that
find the bug (any property) and the runs it took them, with a 95% Wilson score interval on
the share, and the median time to find it over all seeds (a seed that misses counts as
longer than any that found it). Three seeds, or eight, cannot tell two machines apart when
the true rates are a few tenths (docs/zoo.md saw 7/8 and 0/8 for configurations that differ
little): compare the intervals, not the point figures. Shrinking is skipped
(`fuzz(minimise=False)`): only finding counts here.

    python benchmarks/hit_rate.py --seeds 20 --examples 500 --workers 2 \\
        commit-previous-term-by-counting accept-stale-term-append
    python benchmarks/hit_rate.py --seeds 30 --examples 1000 --workers 2 \\
        commit-previous-term-by-counting      # the median time to catch, 30 seeds
    python benchmarks/hit_rate.py --json > rates.json      # every bug

A seed and a budget name one run whatever --workers is, so the figures do not depend on it.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from raftcheck.model.fuzz import fuzz
from raftcheck.model.stateful import FUZZ_BOUNDS
from raftcheck.model.world import Config, Model
from raftcheck.model.zoo import BUGS


def wilson(hits: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval for a binomial proportion: unlike the normal approximation it
    stays inside [0, 1] and is sensible at 0 or `trials` hits, which is where zoo rates live."""
    if trials == 0:
        return 0.0, 1.0
    share = hits / trials
    denominator = 1 + z * z / trials
    centre = (share + z * z / (2 * trials)) / denominator
    margin = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials))
    return max(0.0, centre - margin / denominator), min(1.0, centre + margin / denominator)


def median_time(found_after: list[float], seeds: int) -> float | None:
    """The median over all seeds of the time to the first failing run, a seed that missed
    counting as longer than any that found it (so it is only known when at least half found
    it; None otherwise): the median time to catch that docs/zoo.md reports."""
    times = sorted(found_after) + [math.inf] * (seeds - len(found_after))
    middle = (times[(seeds - 1) // 2] + times[seeds // 2]) / 2
    return None if math.isinf(middle) else round(middle, 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bugs", nargs="*", help="zoo bugs (default: all)")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--examples", type=int, default=500, help="run budget per seed")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    unknown = [name for name in args.bugs if name not in BUGS]
    if unknown or args.seeds < 1 or args.examples < 1 or args.workers < 1:
        parser.error(f"unknown bug {unknown[0]!r}" if unknown
                     else "--seeds, --examples and --workers must be at least 1")
    rows = []
    for name in args.bugs or list(BUGS):
        bug = BUGS[name]
        model = Model(bug.core, Config(bug.nodes), FUZZ_BOUNDS)
        started = time.monotonic()
        found_at, found_after, runs = [], [], 0
        for seed in range(args.seeds):
            result = fuzz(model, seed=seed, examples=args.examples, workers=args.workers,
                          minimise=False)
            runs += result.examples
            if result.found_length:
                found_at.append(result.examples)
                found_after.append(round(result.found_after, 1))
        seconds = time.monotonic() - started
        low, high = wilson(len(found_at), args.seeds)
        median = median_time(found_after, args.seeds)
        row = {"bug": name, "seeds": args.seeds, "examples": args.examples,
               "hits": len(found_at), "share": round(len(found_at) / args.seeds, 3),
               "ci95": [round(low, 3), round(high, 3)], "found_at_runs": found_at,
               "found_after_seconds": found_after, "median_seconds": median,
               "runs": runs, "seconds": round(seconds, 1),
               "runs_per_second": round(runs / seconds, 1)}
        rows.append(row)
        if not args.json:
            shown = "over the budget" if median is None else f"{median:.1f} s"
            print(f"{name:34s} {len(found_at):3d}/{args.seeds:<3d} "
                  f"[{low:.2f}, {high:.2f}]  median time to find {shown}  at runs {found_at}  "
                  f"({runs:,} runs, {seconds:.0f} s, {runs / seconds:.0f} runs/s)", flush=True)
    if args.json:
        print(json.dumps({"seeds": args.seeds, "examples": args.examples,
                          "workers": args.workers, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
