"""How much the PySyncObj shrinker removes from saved counterexamples: each record is shrunk
again by `model.adapters.pysyncobj_fuzz.shrink` and must still end in the same property's
violation (or the same kind of adapter fault), replayed strictly.

The records in `benchmarks/records/pysyncobj/` were found by `raftcheck fuzz --core pysyncobj`
and shrunk by chunk deletion alone (the commands are in that directory's README.md);
`tests/adapters/records/` holds the two of docs/pysyncobj.md's findings. Per record the table
gives its actions as saved and after shrinking again, the replays and the seconds it took;
then the totals per network and overall (the table of docs/pysyncobj.md, "Shrinking"). The
shrinker is deterministic: a shrink that ends before its limits (`--seconds`, `--budget`)
gives the same lengths on any machine.

    python benchmarks/pysyncobj_shrink.py                       # every saved record
    python benchmarks/pysyncobj_shrink.py benchmarks/records/pysyncobj/fifo5-seed1.json
    python benchmarks/pysyncobj_shrink.py --json > shrink.json

Exit 1 if a record does not reproduce as saved or the shrunk run is not the same violation.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from raftcheck.model.adapters.pysyncobj_fuzz import (
    load_record,
    replay,
    shrink,
)

ROOT = Path(__file__).resolve().parent.parent
RECORDS = (ROOT / "benchmarks" / "records" / "pysyncobj", ROOT / "tests" / "adapters" / "records")


def measure(path: Path, seconds: float, budget: int) -> dict[str, Any]:
    record = load_record(path)
    outcome, _, _ = replay(record.config, record.actions)
    started = time.monotonic()
    replays: list[int] = []
    shrunk = shrink(record.config, record.actions, record.outcome, max_seconds=seconds,
                    budget=budget, on_attempt=replays.append)
    elapsed = time.monotonic() - started
    after, applied, _ = replay(record.config, shrunk)  # strict: the result must replay
    return {
        "record": os.path.relpath(path, ROOT),
        "network": record.config.ordering,
        "nodes": record.config.nodes,
        "property": record.outcome.label,
        "reproduces": outcome.label == record.outcome.label,
        "same_violation": after.label == record.outcome.label and len(applied) == len(shrunk),
        "before": len(record.actions),
        "after": len(shrunk),
        "replays": len(replays),
        "seconds": round(elapsed, 2),
        "limited": len(replays) >= budget or elapsed >= seconds,
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| record | network | nodes | property | saved | shrunk again | removed | replays "
             "| s |", "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        removed = 1 - row["after"] / row["before"] if row["before"] else 0.0
        flag = "" if row["same_violation"] and row["reproduces"] else " **FAILED**"
        limit = " (limit)" if row["limited"] else ""
        lines.append(f"| {Path(row['record']).stem} | {row['network']} | {row['nodes']} | "
                     f"{row['property']}{flag} | {row['before']} | {row['after']} | "
                     f"{removed:.0%} | {row['replays']:,}{limit} | {row['seconds']:.1f} |")
    groups = [(f"{network}, total", [r for r in rows if r["network"] == network])
              for network in sorted({r["network"] for r in rows})]
    for label, group in [*groups, ("**total**", rows)]:
        before = sum(r["before"] for r in group)
        after = sum(r["after"] for r in group)
        if before:
            bold = "**" if label == "**total**" else ""
            lines.append(f"| {label} | | | | {bold}{before}{bold} | {bold}{after}{bold} | "
                         f"{bold}{1 - after / before:.0%}{bold} | "
                         f"{sum(r['replays'] for r in group):,} | "
                         f"{sum(r['seconds'] for r in group):.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("records", nargs="*", type=Path,
                        help="record files (default: every *.json under "
                             "benchmarks/records/pysyncobj and tests/adapters/records)")
    parser.add_argument("--seconds", type=float, default=120.0,
                        help="time limit per record, as in raftcheck fuzz (default: 120)")
    parser.add_argument("--budget", type=int, default=1_000_000,
                        help="replay limit per record (default: 1,000,000)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    paths = args.records or sorted(p for d in RECORDS for p in d.glob("*.json"))
    print(f"# {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"limits {args.seconds:g} s and {args.budget:,} replays per record", file=sys.stderr)
    rows = []
    for path in paths:
        rows.append(measure(path, args.seconds, args.budget))
        if not args.json:
            print(f"# {rows[-1]['record']}: {rows[-1]['before']} -> {rows[-1]['after']}",
                  file=sys.stderr, flush=True)
    print(json.dumps(rows, indent=1) if args.json else table(rows))
    return 0 if all(r["same_violation"] and r["reproduces"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
