"""The progress properties, measured (docs/liveness.md):

* the liveness zoo (impl/stalled.py): for each bug and each of --seeds seeds, the Hypothesis
  engine in the timed world with the progress properties (`raftcheck fuzz --timed
  --liveness`, the ci profile's 400 runs at most): the property it is caught by, the runs
  started up to the first failing one, the seconds to it, its length and the length after
  shrinking;
* the correct core at the ci profile for --clean-seeds seeds: clean or not, and how long
  its stabilisation phases took to elect a leader and to apply the client's request
  (largest over every run, against the deadlines), the margin the deadlines leave.

    python benchmarks/liveness_bench.py                  # 5 seeds per bug, 10 clean seeds
    python benchmarks/liveness_bench.py --seeds 3 --clean-seeds 3 --json

Measure on an otherwise idle machine; the counts do not depend on the machine, the times do.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import raftcheck.model.world as world_module
from raftcheck.impl.raft import CORE
from raftcheck.model.breaking import liveness_model
from raftcheck.model.fuzz import fuzz
from raftcheck.model.liveness import Settled, Stabilising
from raftcheck.model.state import World
from raftcheck.model.zoo import LIVENESS_BUGS
from raftcheck.properties.progress import apply_deadline, election_deadline


def hunt(name: str, seeds: int) -> dict[str, Any]:
    bug = LIVENESS_BUGS[name]
    rows = []
    for seed in range(seeds):
        result = fuzz(liveness_model(bug.core, seed), seed=seed, profile="ci")
        rows.append({"seed": seed,
                     "property": None if result.violation is None else
                     result.violation.property,
                     "runs": result.examples, "seconds": round(result.found_after, 3),
                     "length": result.found_length, "shrunk": len(result.actions),
                     "total_seconds": round(result.seconds, 3)})
    caught = [row for row in rows if row["property"] is not None]
    return {"bug": name, "expected": bug.breaks, "caught": f"{len(caught)}/{seeds}",
            "properties": sorted({row["property"] for row in caught}),
            "median_runs": statistics.median(row["runs"] for row in caught) if caught else None,
            "max_runs": max((row["runs"] for row in caught), default=None),
            "median_seconds": statistics.median(row["seconds"] for row in caught)
            if caught else None,
            "max_shrunk": max((row["shrunk"] for row in caught), default=None),
            "seeds": rows}


def clean(seeds: int) -> dict[str, Any]:
    """The correct core at the ci profile, recording every stabilisation phase."""
    elected: list[int] = []
    applied: list[int] = []
    original = world_module.settle

    def recording(model: Stabilising, state: World) -> Settled:
        settled = original(model, state)
        progress = settled.progress
        if progress.leader_at is not None:
            elected.append(progress.leader_at - progress.start)
        if progress.applied_at is not None:
            applied.append(progress.applied_at - progress.start)
        return settled

    world_module.settle = recording
    rows = []
    try:
        for seed in range(seeds):
            result = fuzz(liveness_model(CORE, seed), seed=seed, profile="ci")
            rows.append({"seed": seed, "clean": result.violation is None,
                         "runs": result.examples, "seconds": round(result.seconds, 2)})
    finally:
        world_module.settle = original
    config = liveness_model(CORE, 0).config
    return {"seeds": rows, "phases": len(applied), "clean": all(r["clean"] for r in rows),
            "election_ms_max": max(elected), "election_ms_median": statistics.median(elected),
            "election_deadline_ms": election_deadline(config),
            "apply_ms_max": max(applied), "apply_ms_median": statistics.median(applied),
            "apply_deadline_ms": apply_deadline(config)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bugs", nargs="*", help="liveness zoo names (default: every bug)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--clean-seeds", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    started = time.monotonic()
    bugs = [hunt(name, args.seeds) for name in args.bugs or LIVENESS_BUGS]
    correct = clean(args.clean_seeds)
    machine = f"{platform.python_implementation()} {platform.python_version()}, " \
              f"{os.cpu_count()} CPUs"
    if args.json:
        print(json.dumps({"machine": machine, "bugs": bugs, "correct": correct,
                          "seconds": round(time.monotonic() - started, 1)}, indent=2))
        return 0
    print(f"{'bug':30s} {'property':16s} caught  runs (median/max)  s (median)  shrunk (max)")
    for row in bugs:
        print(f"{row['bug']:30s} {'/'.join(row['properties']) or '-':16s} {row['caught']:7s} "
              f"{row['median_runs']}/{row['max_runs']:<13} {row['median_seconds']:<11} "
              f"{row['max_shrunk']}")
    print(f"correct core, ci profile, {args.clean_seeds} seeds: "
          f"{'clean' if correct['clean'] else 'NOT CLEAN'} over {correct['phases']} phases; "
          f"leader after {correct['election_ms_median']} ms median, "
          f"{correct['election_ms_max']} ms max (deadline {correct['election_deadline_ms']}); "
          f"applied after {correct['apply_ms_median']} ms median, {correct['apply_ms_max']} ms "
          f"max (deadline {correct['apply_deadline_ms']})")
    print(f"{machine}; {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
