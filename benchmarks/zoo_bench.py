"""How fast each engine catches each zoo bug: the table in docs/zoo.md.

For every bug: the exhaustive engine once (BFS within the bug's catalogued bounds: time,
distinct states, shortest length), and the Hypothesis engine with several seeds (on the
fuzzing bounds, each seed with a time budget): how many seeds found it, the median time to
the first failing run (a seed that misses counts as the budget), and the median shrunk length.

    python benchmarks/zoo_bench.py                      # every bug, 5 seeds, 60 s each
    python benchmarks/zoo_bench.py --seeds 3 --seconds 30 two-votes-per-term
    python benchmarks/zoo_bench.py --json > zoo.json
    python benchmarks/zoo_bench.py --no-exhaustive --seeds 3 --seconds 30 --workers 2

Measure on an otherwise idle machine. Each engine run is one process unless --workers says
otherwise (BFS shares out each level, the Hypothesis engine its batches of runs; the results
do not depend on it, only the times do).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from raftcheck.model.breaking import hunt_exhaustive, hunt_hypothesis
from raftcheck.model.zoo import BUGS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bugs", nargs="*")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="Hypothesis budget per seed")
    parser.add_argument("--explore-seconds", type=float, default=900.0)
    parser.add_argument("--no-exhaustive", action="store_true")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes per engine run (BFS levels, Hypothesis batches)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for name in args.bugs or list(BUGS):
        bug = BUGS[name]
        row: dict[str, object] = {"bug": name, "nodes": bug.nodes,
                                  "bounds": bug.bounds.describe(), "shortest": bug.shortest}
        if not args.no_exhaustive:
            found = hunt_exhaustive(bug, args.explore_seconds, args.workers)
            row.update(bfs_found=found.found, bfs_seconds=round(found.seconds, 2),
                       bfs_states=found.states, bfs_length=found.length,
                       bfs_property=found.property)
        hunts = [hunt_hypothesis(bug, seed, args.seconds, args.workers)
                 for seed in range(args.seeds)]
        hits = [h for h in hunts if h.found]
        row.update(
            hyp_found=f"{len(hits)}/{len(hunts)}",
            hyp_median_seconds=round(statistics.median(
                h.seconds if h.found else args.seconds for h in hunts), 2),
            hyp_median_length=statistics.median(h.length for h in hits) if hits else None,
            hyp_max_length=max((h.length or 0) for h in hits) if hits else None,
            hyp_properties=sorted({h.property for h in hits if h.property}),
        )
        rows.append(row)
        if not args.json:
            print(json.dumps(row), flush=True)
    if args.json:
        print(json.dumps({"machine": platform.platform(), "python": platform.python_version(),
                          "seeds": args.seeds, "seconds": args.seconds, "rows": rows},
                         indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
