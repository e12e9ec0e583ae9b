"""The main job's exhaustive part (`raftcheck check`'s portfolio of bound sets,
presets.PORTFOLIO) catches, on its own, every zoo bug whose catalogued bounds fit one of its
sets, and names the set behind each line of its table."""

from __future__ import annotations

import json

import pytest

from raftcheck.model.check import _explore_set, _portfolio_part, portfolio, run_portfolio
from raftcheck.model.explore import DEFAULT_NODES
from raftcheck.model.presets import PORTFOLIO, BoundSet
from raftcheck.model.verdict import Verdict
from raftcheck.model.world import Bounds
from raftcheck.model.zoo import BUGS, Bug
from raftcheck.properties import RAFT_PROPERTIES


def fitting(bug: Bug) -> list[BoundSet]:
    return [bound_set for bound_set in PORTFOLIO
            if bug.nodes == DEFAULT_NODES and bug.bounds.within(bound_set.bounds)]


FITTING = [bug for bug in BUGS.values() if fitting(bug)]


def test_the_portfolio_reaches_bugs_the_defaults_cannot() -> None:
    """Bugs needing a crash or a third term fit the portfolio; the single default run
    (its first set) holds only the shallowest."""
    names = {bug.name for bug in FITTING}
    assert {"voted-for-not-persisted", "current-term-not-persisted",
            "up-to-date-by-length-only", "append-without-consistency-check",
            "ack-beyond-request", "commit-previous-term-by-counting"} <= names
    assert not any(BUGS[name].bounds.within(PORTFOLIO[0].bounds)
                   for name in ("voted-for-not-persisted", "up-to-date-by-length-only"))


@pytest.mark.parametrize("bug", FITTING, ids=lambda bug: bug.name)
def test_each_fitting_zoo_bug_is_caught_by_its_bound_set(bug: Bug,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    bound_set = fitting(bug)[0]
    monkeypatch.setattr("raftcheck.model.check._SUBJECT", [(bug.core, RAFT_PROPERTIES)])
    result = _explore_set(bound_set.bounds)
    part = _portfolio_part(bug.core, bound_set, result, lambda text: None)
    assert part.verdict is Verdict.VIOLATION
    assert result.violations[0].property == bug.breaks
    assert part.engine == f"explore: {bound_set.name}"
    assert bound_set.bounds.describe() in part.summary


def test_within_compares_every_bound() -> None:
    small = Bounds(max_term=1, max_log=0, max_messages=2, max_crashes=0, max_partitions=0,
                   drop=False)
    assert small.within(small) and small.within(Bounds(max_crashes=None))
    assert not Bounds(max_crashes=None).within(small)
    assert not Bounds(max_term=1, max_log=0, max_messages=2, max_crashes=0, max_partitions=0,
                      drop=True).within(small)


def test_workers_share_the_sets_without_changing_a_result() -> None:
    """--quick on a bug every set catches at once: one part per set, in the portfolio's
    order, the same with one process as with two."""
    bug = BUGS["quorum-off-by-one"]
    one = run_portfolio(bug.core, True, lambda text: None, workers=1)
    two = run_portfolio(bug.core, True, lambda text: None, workers=2)
    assert [part.engine for part in one] == [f"explore: {s.name}" for s in portfolio(True)]
    assert [(p.verdict, p.detail["distinct"]) for p in one] == [
        (p.verdict, p.detail["distinct"]) for p in two]
    assert all(part.verdict is Verdict.VIOLATION for part in one)



def test_no_bound_set_holds_another() -> None:
    """A set inside another adds no state the other does not visit."""
    for one in PORTFOLIO:
        for other in PORTFOLIO:
            assert one is other or not one.bounds.within(other.bounds), (one.name, other.name)


def test_check_checks_the_properties_it_is_given(capsys: pytest.CaptureFixture[str]) -> None:
    from raftcheck.model.cli import main

    argv = ["check", "--quick", "--seed", "1", "--core", "quorum-off-by-one", "--json"]
    assert main([*argv, "--ignore", "Elected By Majority"]) == 1
    parts = json.loads(capsys.readouterr().out)["parts"]
    found = {part["violation"]["property"] if part["engine"].startswith("fuzz")
             else part["violation"] for part in parts[1:]}
    assert "Elected By Majority" not in found and found - {None}
    assert main([*argv, "--property", "No Such Property"]) == 2
    assert "No Such Property" in capsys.readouterr().err
