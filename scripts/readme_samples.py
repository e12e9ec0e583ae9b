"""Generate README.md's sample outputs from the real commands, so they cannot drift.

    python scripts/readme_samples.py            # re-run each command, rewrite its sample
    python scripts/readme_samples.py --check    # exit 1 (naming the sample) if one is stale

A sample sits between `<!-- sample:NAME:begin -->` and `<!-- sample:NAME:end -->`; `SAMPLES`
says which command makes it and which lines of its output it shows (the run's own figures,
such as its speed, vary from machine to machine and are left out). Each command is seeded,
so its output is the same on every machine. `tests/cli/test_readme_samples.py` runs the
check.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from raftcheck.model.cli import main as raftcheck

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def _from_counterexample(text: str) -> str:
    """From the counterexample's first line to the end of the replayable action list."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Counterexample:"))
    end = next(i for i in range(start, len(lines)) if lines[i] == "]")
    return "\n".join(lines[start:end + 1])


# name -> (the command's arguments, the part of its output the sample shows)
SAMPLES: dict[str, tuple[list[str], Callable[[str], str]]] = {
    "fuzz-counterexample": (["fuzz", "--core", "two-votes-per-term", "--seed", "1",
                             "--no-save", "--no-progress"], _from_counterexample),
}


def render(name: str) -> str:
    argv, part = SAMPLES[name]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        raftcheck(argv)
    shown = [arg for arg in argv if arg not in ("--no-save", "--no-progress")]
    return f"```text\n$ raftcheck {' '.join(shown)}\n{part(out.getvalue())}\n```"


def refreshed(text: str) -> tuple[str, list[str]]:
    """`text` with every sample re-generated, and the names of those that changed."""
    stale = []
    for name in SAMPLES:
        begin, end = f"<!-- sample:{name}:begin -->", f"<!-- sample:{name}:end -->"
        head, found, rest = text.partition(begin)
        if not found or end not in rest:
            raise SystemExit(f"README.md has no {begin} ... {end} pair")
        old, _, tail = rest.partition(end)
        new = f"\n{render(name)}\n"
        if old != new:
            stale.append(name)
        text = f"{head}{begin}{new}{end}{tail}"
    return text, stale


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="report stale samples, write nothing")
    args = parser.parse_args()
    text, stale = refreshed(README.read_text(encoding="utf-8"))
    if args.check:
        for name in stale:
            print(f"README.md: sample {name} is stale: run python scripts/readme_samples.py")
        return 1 if stale else 0
    README.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
