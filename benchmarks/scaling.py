"""Scaling of the exhaustive BFS from one worker to N on this machine: `--workers 1` (one
process), forked `--workers N`, and N Ray actors on a private Ray (`--ray local`), in one
invocation, each against `--workers 1`: speed-up (its time over one process's) and
efficiency (speed-up over N).

    python benchmarks/scaling.py                       # the default bounds, N = 2
    python benchmarks/scaling.py --setting small --repeat 3
    python benchmarks/scaling.py --no-ray              # without the ray extra

Each run is a fresh interpreter (memos start cold), and the runs of a repeat go one after
the other, so each figure is taken under the load the others saw. A Ray run's time is the
search's alone: Ray is started first and its start-up is printed beside it. Every run must
reach the same distinct count, or the script fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any

SETTINGS: dict[str, dict[str, Any]] = {
    # `raftcheck explore`'s defaults (model/presets.py EXPLORE): 124,957 distinct states.
    "default": dict(max_term=2, max_log=1, values=1, max_messages=4, max_crashes=0,
                    max_partitions=0, drop=False, duplicate=False),
    # Three messages in flight: 3,273 distinct states, short levels.
    "small": dict(max_term=2, max_log=1, values=1, max_messages=3, max_crashes=0,
                  max_partitions=0, drop=False, duplicate=False),
}


def measure(setting: str, workers: int, ray: bool) -> dict[str, Any]:
    """One run, in this process (called in a fresh interpreter by `main`)."""
    from raftcheck.impl.raft import CORE
    from raftcheck.model.explore import explore
    from raftcheck.model.world import Bounds, Config, Model

    model = Model(CORE, Config(3), Bounds(**SETTINGS[setting]))
    startup = 0.0
    if ray:
        from raftcheck.model.search.ray_pool import RaySession

        started = time.perf_counter()
        session = RaySession("local", workers)
        startup = time.perf_counter() - started
    started = time.perf_counter()
    result = explore(model, workers=workers, ray="local" if ray else None)
    seconds = time.perf_counter() - started
    if ray:
        session.close()
    return {"verdict": result.verdict.value, "distinct": result.distinct,
            "generated": result.generated, "seconds": seconds, "startup": startup}


def run(setting: str, workers: int, ray: bool) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--measure", setting, str(workers), str(int(ray))]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(line.split(":", 1)[1].strip() for line in cpuinfo
                         if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{platform.machine()}, {os.cpu_count()} cores ({model}), "
            f"{platform.python_implementation()} {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--measure":
        print(json.dumps(measure(sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1")))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setting", choices=sorted(SETTINGS), default="default")
    parser.add_argument("--workers", type=int, default=2, help="N (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each; the median is reported (default: %(default)s)")
    parser.add_argument("--no-ray", dest="ray", action="store_false",
                        help="leave out the Ray runs")
    args = parser.parse_args()
    print("command: python benchmarks/scaling.py " + " ".join(sys.argv[1:]))
    print(f"machine: {machine()}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    runs: list[tuple[str, int, bool]] = [("one process (--workers 1)", 1, False),
                                         (f"forked --workers {args.workers}", args.workers,
                                          False)]
    if args.ray:
        runs.append((f"Ray, {args.workers} actors (--ray local)", args.workers, True))
    results: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in runs}
    for _ in range(args.repeat):
        for name, workers, ray in runs:
            results[name].append(run(args.setting, workers, ray))
    counts = {(r["distinct"], r["generated"]) for rs in results.values() for r in rs}
    if len(counts) != 1:
        raise SystemExit(f"the runs disagree on the counts: {sorted(counts)}")
    distinct, generated = counts.pop()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"setting {args.setting}: {distinct:,} distinct, {generated:,} generated "
          f"(every run); median of {args.repeat}")
    print("| run | workers | seconds (median) | each run | speed-up | efficiency | Ray start-up |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    base = statistics.median(r["seconds"] for r in results[runs[0][0]])
    for name, workers, ray in runs:
        seconds = statistics.median(r["seconds"] for r in results[name])
        startup = (f"{statistics.median(r['startup'] for r in results[name]):.1f} s"
                   if ray else "–")
        each = ", ".join(f"{r['seconds']:.1f}" for r in results[name])
        speedup = base / seconds
        print(f"| {name} | {workers} | {seconds:.1f} | {each} | {speedup:.2f} × | "
              f"{speedup / workers:.0%} | {startup} |")


if __name__ == "__main__":
    main()
