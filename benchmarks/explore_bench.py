"""Benchmark of the exhaustive engine (`model.explore`): distinct and generated states per
second, time to exhaust, and memory per visited state, for a few bound settings; and the
time to find the Figure 8 bug (`impl.broken.CommitPreviousTermByCounting`) by BFS, iterative
deepening and simulation.

    python benchmarks/explore_bench.py                 # every setting, workers 1 and 2
    python benchmarks/explore_bench.py --only small    # one setting
    python benchmarks/explore_bench.py --figure8       # the Figure 8 timings only
    python benchmarks/explore_bench.py --no-figure8    # without them

Each measurement runs in a fresh interpreter, so that memory is the growth of that run alone
(peak RSS after minus RSS before, divided by the distinct states) and memos start cold.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from typing import Any

SETTINGS: dict[str, dict[str, Any]] = {
    # TLC's first configuration in scale (3 servers, 1 value, term ≤ 2, log ≤ 1, no faults);
    # here a candidate's two RequestVotes are in flight at once, so 3 messages, not 1.
    "small": dict(max_term=2, max_log=1, values=1, max_messages=3, max_crashes=0,
                  max_partitions=0, drop=False, duplicate=False),
    # The default bounds of `raftcheck explore`.
    "default": dict(max_term=2, max_log=1, values=1, max_messages=4, max_crashes=0,
                    max_partitions=0, drop=False, duplicate=False),
    # TLC's second configuration: log length ≤ 2.
    "log2": dict(max_term=2, max_log=2, values=1, max_messages=3, max_crashes=0,
                 max_partitions=0, drop=False, duplicate=False),
    # TLC's third: restart faults (one crash, then a restart from disk).
    "crash": dict(max_term=2, max_log=1, values=1, max_messages=3, max_crashes=1,
                  max_partitions=0, drop=False, duplicate=False),
}
FIGURE_8 = dict(max_term=4, max_log=1, values=1, max_messages=3, max_crashes=0,
                max_partitions=0, drop=False, duplicate=False)


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(core: str, bounds: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """One run, in this process (called in a fresh interpreter by `main`)."""
    from raftcheck.impl.broken import BROKEN_CORES
    from raftcheck.impl.raft import CORE
    from raftcheck.model.explore import explore
    from raftcheck.model.world import Bounds, Config, Model

    model = Model(CORE if core == "raft" else BROKEN_CORES[core], Config(3), Bounds(**bounds))
    before = _rss()
    started = time.perf_counter()
    result = explore(model, **options)
    seconds = time.perf_counter() - started
    grown = max(result.peak_rss - before, 0)
    return {
        "verdict": result.verdict.value, "distinct": result.distinct,
        "generated": result.generated, "depth": result.depth, "seconds": round(seconds, 2),
        "distinct_per_s": round(result.distinct / seconds),
        "generated_per_s": round(result.generated / seconds),
        "bytes_per_distinct": round(grown / result.distinct) if result.distinct else None,
        "violation": result.violations[0].property if result.violations else None,
        "length": len(result.violations[0].actions) if result.violations else None,
    }


def seen_set_bytes_per_state(n: int = 1_000_000) -> float:
    """What Python's own set of 64-bit ints costs per element (the fingerprints), to set
    beside the 14 bytes of parent links the engine adds."""
    import random
    import tracemalloc

    rng = random.Random(0)
    tracemalloc.start()
    fps = {rng.getrandbits(64) for _ in range(n)}
    size, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(fps) == n
    return size / n


def run_one(core: str, bounds: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--one", json.dumps([core, bounds, options])],
        capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def describe(bounds: dict[str, Any]) -> str:
    from raftcheck.model.world import Bounds

    return Bounds(**bounds).describe()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=sorted(SETTINGS), action="append")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--no-symmetry-too", action="store_true",
                        help="also measure without symmetry reduction")
    parser.add_argument("--figure8", action="store_true", help="only the Figure 8 timings")
    parser.add_argument("--no-figure8", action="store_true", help="skip the Figure 8 timings")
    parser.add_argument("--max-seconds", type=float, default=600)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        core, bounds, options = json.loads(args.one)
        print(json.dumps(measure(core, bounds, options)))
        return
    print(f"# {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    if not args.figure8:
        print(f"# Python set of 64-bit ints: {seen_set_bytes_per_state():.0f} bytes per "
              "fingerprint; parent links add 14")
        print("setting | bounds | symmetry | workers | distinct | generated | depth | "
              "seconds | distinct/s | generated/s | bytes/distinct (RSS)")
        for name in args.only or SETTINGS:
            bounds = SETTINGS[name]
            for symmetry in (True, False) if args.no_symmetry_too else (True,):
                for workers in args.workers:
                    row = run_one("raft", bounds, {"symmetry": symmetry, "workers": workers,
                                                   "max_seconds": args.max_seconds})
                    print(f"{name} | {describe(bounds)} | {'on' if symmetry else 'off'} | "
                          f"{workers} | {row['distinct']:,} | {row['generated']:,} | "
                          f"{row['depth']} | {row['seconds']} | {row['distinct_per_s']:,} | "
                          f"{row['generated_per_s']:,} | {row['bytes_per_distinct']} | "
                          f"{row['verdict']}", flush=True)
    if args.no_figure8:
        return
    print(f"# Figure 8 (commit-previous-term-by-counting), bounds {describe(FIGURE_8)}")
    print("strategy | options | verdict | property | length | distinct | generated | seconds")
    runs: list[tuple[str, dict[str, Any]]] = [
        ("bfs", {"strategy": "bfs"}),
        ("bfs", {"strategy": "bfs", "workers": 2}),
        ("iddfs", {"strategy": "iddfs"}),
        ("simulate", {"strategy": "simulate", "seed": 1, "walks": None, "walk_depth": 60}),
        ("simulate", {"strategy": "simulate", "seed": 1, "walks": None, "walk_depth": 60,
                      "bias": "kind"}),
        ("simulate", {"strategy": "simulate", "seed": 2, "walks": None, "walk_depth": 60,
                      "bias": "kind"}),
    ]
    for name, options in runs:
        options = {**options, "max_seconds": args.max_seconds}
        row = run_one("commit-previous-term-by-counting", FIGURE_8, options)
        shown = {k: v for k, v in options.items() if k not in ("strategy", "max_seconds")}
        print(f"{name} | {shown} | {row['verdict']} | {row['violation']} | {row['length']} | "
              f"{row['distinct']:,} | {row['generated']:,} | {row['seconds']}", flush=True)


if __name__ == "__main__":
    main()
