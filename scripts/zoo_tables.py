"""Generate the bug zoo's tables in README.md, docs/zoo.md and docs/exhaustive.md from the
catalogue (and, for the last, the main job's portfolio of bound sets).

    python scripts/zoo_tables.py            # rewrite every generated table in place
    python scripts/zoo_tables.py --check    # exit 1 (and name the file) if one is stale

Every fact in these tables lives once, in `model/zoo.py` (`BUGS`). A generated table sits
between a pair of marker comments, `<!-- zoo-table:begin -->` and `<!-- zoo-table:end -->`;
`TABLES` says, per file, which table each pair holds, in order. Measured figures (seconds,
states, hit rates) are not catalogue facts and stay hand-written beside their command.
`tests/zoo/test_zoo_tables.py` runs the check.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from raftcheck.model.presets import PORTFOLIO
from raftcheck.model.world import Bounds
from raftcheck.model.zoo import BUGS, Bug

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- zoo-table:begin -->", "<!-- zoo-table:end -->"


def _needs(bug: Bug) -> str:
    return bug.needs.replace("no faults (reordering only)", "-")


def _bounds(bounds: Bounds) -> str:
    """The bounds that matter: terms, logs, values if more than one, messages, the faults on."""
    parts = [f"term≤{bounds.max_term}", f"log≤{bounds.max_log}"]
    if bounds.values != 1:
        parts.append(f"values={bounds.values}")
    parts.append(f"msgs≤{bounds.max_messages}")
    if bounds.max_crashes:
        parts.append(f"crashes≤{bounds.max_crashes}")
    if bounds.max_partitions:
        parts.append(f"partitions≤{bounds.max_partitions}")
    parts += [f"{name}=on" for name, on in (("drop", bounds.drop),
                                            ("duplicate", bounds.duplicate)) if on]
    return " ".join(parts)


def _caught_by(bug: Bug) -> str:
    then = "; ".join(f"{prop}, {length}" for prop, length in bug.then)
    return f"{bug.breaks}, {bug.shortest}" + (f" ({then})" if then else "")


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def summary_table() -> str:
    """README: one line per bug, what is wrong and what catches it."""
    return _table(("bug (`--core NAME`)", "what is wrong", "needs", "caught by",
                   "shortest (BFS)"),
                  ((f"`{bug.name}`", bug.description, _needs(bug), bug.breaks,
                    str(bug.shortest)) for bug in BUGS.values()))


def zoo_table() -> str:
    """docs/zoo.md: the zoo, numbered, with the properties broken later in a run."""
    return _table(("#", "bug (`--core NAME`)", "what is wrong", "source", "needs",
                   "caught by (shortest, BFS)"),
                  ((str(number), f"`{bug.name}`", bug.description, bug.source, _needs(bug),
                    _caught_by(bug)) for number, bug in enumerate(BUGS.values(), 1)))


def pins_table() -> str:
    """docs/zoo.md: where each engine is pinned to find the bug."""
    return _table(("bug", "nodes", "bounds (BFS)", "shortest", "Hypothesis seed, runs",
                   "`prove` rule (`Rules` field)"),
                  ((f"`{bug.name}`", str(bug.nodes), _bounds(bug.bounds), str(bug.shortest),
                    f"{bug.seed}, {bug.examples}",
                    f"`{bug.prove_rule}`" if bug.prove_rule else "not encoded")
                   for bug in BUGS.values()))


def portfolio_table() -> str:
    """docs/exhaustive.md: the main job's bound sets and the zoo bugs whose catalogued
    bounds fit each (tests/zoo/test_portfolio.py checks that the set catches them)."""
    def fits(bug: Bug, bounds: Bounds) -> bool:
        return bug.nodes == 3 and bug.bounds.within(bounds)

    def held(bugs: Iterable[Bug]) -> str:
        return ", ".join(f"`{bug.name}`" for bug in bugs) or "-"

    rows = [(bound_set.name, bound_set.aim, _bounds(bound_set.bounds),
             held(bug for bug in BUGS.values() if fits(bug, bound_set.bounds)))
            for bound_set in PORTFOLIO]
    rows.append(("(none)", "more messages in flight, or more servers, than any set", "-",
                 held(bug for bug in BUGS.values()
                      if not any(fits(bug, s.bounds) for s in PORTFOLIO))))
    return _table(("bound set", "aimed at", "bounds", "zoo bugs whose bounds fit"), rows)


TABLES: dict[str, tuple[Callable[[], str], ...]] = {
    "README.md": (summary_table,),
    "docs/zoo.md": (zoo_table, pins_table),
    "docs/exhaustive.md": (portfolio_table,),
}
"""File (from the repository root) -> the table each marker pair holds, in order."""


class MarkerError(ValueError):
    pass


def render(text: str, tables: tuple[Callable[[], str], ...]) -> str:
    """`text` with the body of each marker pair replaced by its generated table."""
    pieces = text.split(BEGIN)
    if len(pieces) - 1 != len(tables):
        raise MarkerError(f"{len(pieces) - 1} '{BEGIN}' markers, expected {len(tables)}")
    out = pieces[0]
    for piece, table in zip(pieces[1:], tables, strict=True):
        if piece.count(END) != 1:
            raise MarkerError(f"each '{BEGIN}' needs one '{END}' before the next table")
        _, rest = piece.split(END)
        out += f"{BEGIN}\n{table()}\n{END}{rest}"
    return out


def stale(root: Path = ROOT) -> list[str]:
    """The files whose generated tables differ from the catalogue."""
    return [name for name, tables in TABLES.items()
            if render((root / name).read_text(encoding="utf-8"), tables)
            != (root / name).read_text(encoding="utf-8")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write: exit 1 if a generated table is stale")
    args = parser.parse_args(argv)
    try:
        out_of_date = stale()
    except MarkerError as error:
        print(f"zoo_tables: {error}", file=sys.stderr)
        return 2
    if args.check:
        for name in out_of_date:
            print(f"{name}: zoo table is stale; run python scripts/zoo_tables.py",
                  file=sys.stderr)
        return 1 if out_of_date else 0
    for name in out_of_date:
        path = ROOT / name
        path.write_text(render(path.read_text(encoding="utf-8"), TABLES[name]),
                        encoding="utf-8")
        print(f"rewrote {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
