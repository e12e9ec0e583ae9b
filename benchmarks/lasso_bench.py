"""The exhaustive liveness check of the untimed world, measured (docs/liveness.md): the lasso
search (model/search/lasso.py) on the correct core and on each liveness zoo bug, at
`LASSO_BOUNDS` or at explore's default bounds: the verdict, the lassos found (property,
prefix + cycle), the classes reached, the components with a cycle and how many were unfair,
and the seconds.

    python benchmarks/lasso_bench.py                    # LASSO_BOUNDS (a few seconds)
    python benchmarks/lasso_bench.py --bounds default   # explore's defaults (minutes)
    python benchmarks/lasso_bench.py --json

The counts do not depend on the machine, the times do.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from raftcheck.impl.raft import CORE
from raftcheck.model import presets
from raftcheck.model.breaking import lasso_model
from raftcheck.model.search.lasso import lasso_search
from raftcheck.model.zoo import LASSO_BOUNDS, LIVENESS_BUGS

BOUNDS = {"lasso": LASSO_BOUNDS, "default": presets.EXPLORE}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bounds", choices=sorted(BOUNDS), default="lasso")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    bounds = BOUNDS[args.bounds]
    rows: list[dict[str, Any]] = []
    for core in (CORE, *(bug.core for bug in LIVENESS_BUGS.values())):
        result = lasso_search(lasso_model(core).with_bounds(bounds))
        rows.append({"core": core.name, "verdict": result.verdict.value,
                     "lassos": [f"{found.property} ({len(found.prefix)} + "
                                f"{len(found.cycle)})" for found in result.lassos],
                     "classes": result.distinct, "components": result.components,
                     "unfair": result.excused, "seconds": round(result.seconds, 1)})
        if not args.json:
            row = rows[-1]
            print(f"{row['core']:30s} {row['verdict']:10s} {row['classes']:>8,} classes "
                  f"{row['components']:>7,} components ({row['unfair']:,} unfair) "
                  f"{row['seconds']:>6.1f} s  {', '.join(row['lassos']) or '-'}", flush=True)
    if args.json:
        print(json.dumps({"bounds": bounds.describe(), "python": platform.python_version(),
                          "rows": rows}, indent=2))
    else:
        print(f"bounds: {bounds.describe()}; CPython {platform.python_version()}")


if __name__ == "__main__":
    main()
