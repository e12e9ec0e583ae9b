"""Reachability goals mean the same to every engine. A goal the bounds rule out (no entry
when log≤0, no second leader when term≤1) is expected of no run: the exhaustive search says
PASS and the random one CLEAN, both naming it ruled out. A goal the bounds allow but that a
complete search never reached says the core cannot get there: BROKEN MODEL (exit 3), as the
random engine's INCONCLUSIVE, never PASS."""

from __future__ import annotations

import json

import pytest

from raftcheck.impl.raft import RaftCore
from raftcheck.impl.types import Node
from raftcheck.model.explore import explore
from raftcheck.model.fuzz import fuzz
from raftcheck.model.fuzz_report import fuzz_verdict
from raftcheck.model.verdict import Exit, Verdict
from raftcheck.model.world import Bounds, Config, Model

NO_LOG = Bounds(max_term=2, max_log=0, max_messages=4, max_crashes=0, drop=False)
ONE_TERM = Bounds(max_term=1, max_log=1, max_messages=3, max_crashes=0, drop=False)
SMALL = Bounds(max_term=1, max_log=1, max_messages=4, max_crashes=0, drop=False)


class NeverCommits(RaftCore):
    """Safe, but stuck: a leader never advances its commit index."""

    name = "never-commits"

    def advance_commit_index(self, node: Node) -> Node:
        return node


@pytest.mark.parametrize(("bounds", "ruled_out"), [
    (NO_LOG, ["entry committed", "entry applied on every node"]),
    (ONE_TERM, ["leader replaced"]),
])
def test_goals_the_bounds_rule_out_are_not_missed(bounds: Bounds, ruled_out: list[str]) -> None:
    model = Model(RaftCore(), Config(3), bounds)
    assert list(model.ruled_out_goals) == ruled_out
    searched = explore(model)
    assert searched.verdict is Verdict.PASS and searched.missed_goals == []
    assert searched.to_json()["goals_ruled_out"] == ruled_out
    fuzzed = fuzz(model, seed=0, examples=60)
    assert fuzz_verdict(fuzzed) is Verdict.CLEAN and fuzzed.missing_goals == []


def test_a_goal_the_bounds_allow_but_never_reached_is_not_a_pass() -> None:
    model = Model(NeverCommits(), Config(3), SMALL)
    searched = explore(model)
    assert searched.complete and not searched.violations
    assert searched.verdict is Verdict.VACUOUS and searched.exit_code is Exit.INCONCLUSIVE
    assert searched.missed_goals == ["entry committed", "entry applied on every node"]
    fuzzed = fuzz(model, seed=0, examples=60)
    assert fuzz_verdict(fuzzed) is Verdict.INCONCLUSIVE
    assert fuzzed.missing_goals == searched.missed_goals


def test_the_command_lines_agree(capsys: pytest.CaptureFixture[str]) -> None:
    from raftcheck.model.cli import main

    bounds = ["--max-log", "0", "--max-term", "2", "--max-crashes", "0", "--no-drop"]
    assert main(["explore", *bounds, "--no-save", "--json"]) == 0
    searched = json.loads(capsys.readouterr().out)
    assert main(["fuzz", *bounds, "--examples", "60", "--no-save", "--json"]) == 0
    fuzzed = json.loads(capsys.readouterr().out)
    assert searched["goals_ruled_out"] == fuzzed["goals_ruled_out"] == [
        "entry committed", "entry applied on every node"]
    assert searched["goals_missed"] == fuzzed["goals_missing"] == []
    assert main(["explore", *bounds, "--no-save"]) == 0
    assert "– entry committed (ruled out by the bounds)" in capsys.readouterr().out


def test_a_search_that_reaches_no_goal_checked_nothing() -> None:
    """term≤0: every goal is ruled out, and nothing was checked: not a pass either."""
    model = Model(RaftCore(), Config(3), Bounds(max_term=0, max_crashes=0))
    assert model.goal_names == ()
    assert explore(model).verdict is Verdict.VACUOUS
    assert fuzz_verdict(fuzz(model, seed=0, examples=5)) is Verdict.INCONCLUSIVE
