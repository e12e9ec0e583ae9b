"""Properties are values carried by the model: a user selects, ignores or adds them, and every
engine (the Hypothesis machine, BFS, the shrinker) checks exactly what the model carries."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import raftcheck
from raftcheck.impl.broken import BROKEN_CORES
from raftcheck.impl.raft import CORE
from raftcheck.impl.types import Role
from raftcheck.model.cli import main
from raftcheck.model.explore import DEFAULT_BOUNDS, explore
from raftcheck.model.fuzz import fuzz
from raftcheck.model.state import World
from raftcheck.model.stateful import FUZZ_BOUNDS
from raftcheck.model.verdict import Verdict
from raftcheck.model.world import Config, Model
from raftcheck.properties import RAFT_PROPERTIES, Properties, Property, Violation

ROOT = Path(__file__).resolve().parents[2]
TWO_VOTES = BROKEN_CORES["two-votes-per-term"]


def no_leader_in_term_2(world: World) -> Violation | None:
    for node in world.up_nodes():
        if node.role is Role.LEADER and node.current_term == 2:
            return Violation("No Leader In Term 2", f"n{node.id} leads term 2",
                             "a user's own property", (node.id,))
    return None


def test_the_raft_properties_are_figure_3_the_auxiliaries_and_the_goals() -> None:
    kinds = {kind: [p.name for p in RAFT_PROPERTIES.all if p.kind == kind]
             for kind in ("always", "transition", "sometimes")}
    assert kinds["always"][:4] == ["Election Safety", "Log Matching", "Leader Completeness",
                                   "State Machine Safety"]
    assert kinds["transition"][0] == "Leader Append-Only"
    assert "Single Vote Per Term" in kinds["transition"]
    assert kinds["sometimes"] == list(RAFT_PROPERTIES.goal_names) and len(kinds["sometimes"]) == 4


def test_selecting_keeps_the_goals_and_rejects_unknown_names() -> None:
    only = RAFT_PROPERTIES.selecting(["election safety"])
    assert [p.name for p in only.all if p.kind != "sometimes"] == ["Election Safety"]
    assert only.goal_names == RAFT_PROPERTIES.goal_names
    with pytest.raises(ValueError, match="unknown property 'Nonsense'"):
        RAFT_PROPERTIES.ignoring(["Nonsense"])
    with pytest.raises(ValueError, match="share a name"):
        RAFT_PROPERTIES.adding(Property.always("Election Safety", no_leader_in_term_2))


def test_an_ignored_property_is_not_checked_by_the_hypothesis_engine() -> None:
    model = Model(TWO_VOTES, Config(), FUZZ_BOUNDS)
    caught = fuzz(model, seed=0, examples=150, minimise=False)
    assert caught.violation is not None
    assert caught.violation.property == "Single Vote Per Term"
    quiet = Model(TWO_VOTES, Config(), FUZZ_BOUNDS,
                  properties=RAFT_PROPERTIES.ignoring(["Single Vote Per Term"]))
    later = fuzz(quiet, seed=0, examples=150, minimise=False)
    assert later.violation is None or later.violation.property != "Single Vote Per Term"


def test_a_users_property_is_checked_by_bfs_with_a_shortest_trace() -> None:
    model = Model(CORE, Config(), DEFAULT_BOUNDS, properties=RAFT_PROPERTIES.adding(
        Property.always("No Leader In Term 2", no_leader_in_term_2)))
    result = explore(model)
    assert result.verdict is Verdict.VIOLATION
    (found,) = result.violations
    assert found.property == "No Leader In Term 2" and found.shortest
    # n0 times out twice, but four messages in flight allow no reply to its second round
    # while the first is pending: the shortest run delivers the first round, then the second.
    assert len(found.actions) == 6


def test_the_cli_selects_and_ignores(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["explore", "--core", "two-votes-per-term", "--ignore",
                 "Single Vote Per Term", "--max-messages", "3", "--no-save"])
    out = capsys.readouterr().out
    assert code == 1 and "Single Vote Per Term" not in out.split("✗", 1)[-1]
    assert main(["explore", "--property", "Nonsense"]) == 2
    err = capsys.readouterr().err
    assert "unknown property 'Nonsense'" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_the_facade_exports_what_it_names() -> None:
    for name in raftcheck.__all__:
        assert getattr(raftcheck, name) is not None, name
    tree = ast.parse((ROOT / "raftcheck" / "__init__.py").read_text())
    typed = {alias.asname or alias.name for node in ast.walk(tree)
             if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert set(raftcheck.__all__) <= typed  # a type for every lazy name (mypy --strict users)
    assert isinstance(RAFT_PROPERTIES, Properties)
