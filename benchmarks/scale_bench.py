"""Exhaustive search at scale, against a baseline commit in the same invocation: distinct and
generated states per CPU-second, peak RSS, bytes per distinct state and bytes per state
beyond the smallest setting's, for `raftcheck explore`'s defaults and for `--max-term 3`
(1.1M states), one process each.

    python benchmarks/scale_bench.py --baseline REF            # both settings
    python benchmarks/scale_bench.py --baseline REF --only default
    python benchmarks/scale_bench.py --baseline REF --json

The baseline is checked out in a temporary `git worktree` and imported from there
(PYTHONPATH before the installed package); the working tree is the candidate. Each run is a
fresh interpreter, baseline and candidate alternating per setting, so both see the same
machine load. The state counts must agree: a change that alters the explored space is not a
speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SETTINGS: dict[str, dict[str, Any]] = {
    "default": {},  # raftcheck explore's defaults (presets.EXPLORE)
    "term3": {"max_term": 3},  # the same with term ≤ 3: 1,116,045 states
}

MEASURE = """
import json, os, resource, sys, time
import attrs
from raftcheck.impl.raft import CORE
from raftcheck.model.explore import explore
from raftcheck.model.presets import EXPLORE
from raftcheck.model.world import Config, Model

def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

model = Model(CORE, Config(3), attrs.evolve(EXPLORE, **json.loads(sys.argv[1])))
before = rss()
usage = resource.getrusage(resource.RUSAGE_SELF)
started = time.perf_counter()
result = explore(model)
wall = time.perf_counter() - started
after = resource.getrusage(resource.RUSAGE_SELF)
cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
print(json.dumps({"verdict": result.verdict.value, "distinct": result.distinct,
                  "generated": result.generated, "cpu": cpu, "wall": wall,
                  "before": before, "peak": after.ru_maxrss * 1024}))
"""


def run(tree: Path, bounds: dict[str, Any]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, "-c", MEASURE, json.dumps(bounds)], env=env,
                         check=True, capture_output=True, text=True, cwd=tree).stdout
    figures: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    figures["distinct_per_cpu_s"] = figures["distinct"] / figures["cpu"]
    figures["generated_per_cpu_s"] = figures["generated"] / figures["cpu"]
    figures["bytes_per_state"] = (figures["peak"] - figures["before"]) / figures["distinct"]
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", required=True, help="the git commit to compare against")
    parser.add_argument("--only", choices=sorted(SETTINGS), action="append")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    names = args.only or list(SETTINGS)
    results: dict[str, dict[str, dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(base), args.baseline],
                       cwd=ROOT, check=True)
        try:
            for name in names:
                results[name] = {"baseline": run(base, SETTINGS[name]),
                                 "candidate": run(ROOT, SETTINGS[name])}
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT,
                           check=True)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    if args.json:
        print(json.dumps({"baseline": args.baseline, "machine": machine, "results": results},
                         indent=2))
        return 0
    print(f"python benchmarks/scale_bench.py --baseline {args.baseline}   ({machine})")
    print(f"{'setting':8} {'tree':9} {'distinct':>10} {'generated':>10} {'cpu s':>7} "
          f"{'dist/cpu-s':>10} {'gen/cpu-s':>10} {'peak MiB':>9} {'B/state':>8}")
    for name, pair in results.items():
        for tree, f in pair.items():
            print(f"{name:8} {tree:9} {f['distinct']:>10,} {f['generated']:>10,} "
                  f"{f['cpu']:>7.1f} {f['distinct_per_cpu_s']:>10,.0f} "
                  f"{f['generated_per_cpu_s']:>10,.0f} {f['peak'] / 2**20:>9.1f} "
                  f"{f['bytes_per_state']:>8.0f}")
        base, cand = pair["baseline"], pair["candidate"]
        same = (base["distinct"], base["generated"]) == (cand["distinct"], cand["generated"])
        speed = cand["distinct_per_cpu_s"] / base["distinct_per_cpu_s"]
        memory = cand["peak"] / base["peak"]
        print(f"{name:8} ratio     distinct/cpu-s {speed:.2f}x, peak RSS {memory:.2f}x"
              f"{'' if same else '   STATE COUNTS DIFFER'}")
    if {"default", "term3"} <= set(results):
        for tree in ("baseline", "candidate"):
            small, large = results["default"][tree], results["term3"][tree]
            extra = (large["peak"] - small["peak"]) / (large["distinct"] - small["distinct"])
            print(f"{tree}: {extra:.0f} bytes of peak RSS per state beyond the defaults' "
                  f"{small['distinct']:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
