"""`raftcheck diff raft BUG --compare properties --nodes N` for every bug of the zoo, on the
default budgets, N being the cluster size the bug needs (model/zoo.py; 4 for
count-duplicate-votes, whose duplicated vote changes nothing in a cluster of 3):
the verdict, which engine found the divergence, its length (shrunk), and the time. The table
in docs/refactoring.md. Every line should say DIVERGENT: a refactor that brings a zoo bug back
must never be called equivalent.

    python benchmarks/diff_zoo.py                    # every bug, default budgets, 1 process
    python benchmarks/diff_zoo.py --workers 2        # the random part in 2 processes
    python benchmarks/diff_zoo.py --compare state two-votes-per-term

The result for a bug does not depend on --workers (the random part's runs are seeded by
batch), only the time does. Measure on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from raftcheck.impl.raft import CORE
from raftcheck.model.diff import DIFF_EXAMPLES, diff
from raftcheck.model.lockstep import LEVELS
from raftcheck.model.world import Config
from raftcheck.model.zoo import BUGS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bugs", nargs="*", help="zoo names (default: every bug)")
    parser.add_argument("--compare", choices=LEVELS, default="properties")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--examples", type=int, default=DIFF_EXAMPLES)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    names = args.bugs or sorted(BUGS)
    unknown = sorted(set(names) - set(BUGS))
    if unknown:
        parser.error(f"not in the zoo: {', '.join(unknown)}")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; seed {args.seed}, {args.examples} runs, "
          f"{args.workers} worker(s), --compare {args.compare}", file=sys.stderr)
    rows = []
    for name in names:
        started = time.monotonic()
        bug = BUGS[name]
        result = diff(CORE, bug.core, level=args.compare, config=Config(bug.nodes),
                      seed=args.seed, examples=args.examples, workers=args.workers)
        found = result.divergence
        row = {"bug": name, "verdict": result.verdict.value,
               "engine": None if found is None else found.engine,
               "steps": None if found is None else len(found.actions),
               "shrunk_from": None if found is None else found.shrunk_from,
               "random_runs": result.random_runs,
               "seconds": round(time.monotonic() - started, 1)}
        rows.append(row)
        if not args.json:
            print(f"{name:40} {row['verdict']:11} {row['engine'] or '-':10} "
                  f"{row['steps'] or '-':>4} {row['random_runs']:>5} {row['seconds']:>7.1f}",
                  flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0 if all(row["verdict"] == "DIVERGENT" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
