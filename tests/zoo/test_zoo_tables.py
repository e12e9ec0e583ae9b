"""The zoo tables in README.md and docs/zoo.md are generated from the catalogue
(`model/zoo.py`) by scripts/zoo_tables.py.

What these protect: a catalogue change (a new bug, a new pin, a shorter counterexample)
that is not carried into the docs fails here, with the command that fixes it; the
generator only ever touches the text between its markers."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest


def _zoo_tables() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "scripts" / "zoo_tables.py"
    spec = importlib.util.spec_from_file_location("zoo_tables", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ZOO_TABLES = _zoo_tables()


def test_the_generated_zoo_tables_are_up_to_date() -> None:
    assert ZOO_TABLES.stale() == [], "run: python scripts/zoo_tables.py"


def test_every_bug_is_in_every_generated_table() -> None:
    from raftcheck.model.zoo import BUGS

    for tables in ZOO_TABLES.TABLES.values():
        for table in tables:
            text = table()
            assert all(f"`{name}`" in text for name in BUGS), table.__name__


def test_only_the_text_between_the_markers_is_rewritten() -> None:
    begin, end = ZOO_TABLES.BEGIN, ZOO_TABLES.END
    text = f"before\n{begin}\nold table\n{end}\nafter\n"
    out = ZOO_TABLES.render(text, (lambda: "NEW",))
    assert out == f"before\n{begin}\nNEW\n{end}\nafter\n"
    assert ZOO_TABLES.render(out, (lambda: "NEW",)) == out


@pytest.mark.parametrize("text", ["no markers at all", "<!-- zoo-table:begin --> no end"])
def test_missing_markers_are_an_error(text: str) -> None:
    with pytest.raises(ZOO_TABLES.MarkerError):
        ZOO_TABLES.render(text, (lambda: "NEW",))
