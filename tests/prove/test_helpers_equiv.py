"""Refactor equivalence of the core's pure helpers (docs/prove.md, "Helpers"): the three
refactors are proven equal by z3 up to the bound and agree with the real `RaftCore` methods
by brute force; wrong refactors get a concrete counterexample."""

from __future__ import annotations

from itertools import pairwise

import pytest

from raftcheck.model.prove.helpers_equiv import (
    COMMIT,
    COMMIT_WITHOUT_PRECONDITION,
    INT,
    MERGE_TRUNCATE_ALWAYS,
    PAIRS,
    UP_TO_DATE_LENGTH_ONLY,
    Bound,
    Pair,
    brute_force,
    check_all,
    prove_pair,
)


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: p.name)
def test_refactors_are_equal_up_to_the_bound(pair: Pair) -> None:
    result = prove_pair(pair)
    assert result.equal, result.render()


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: p.name)
def test_brute_force_agrees_with_z3_and_with_the_real_core(pair: Pair) -> None:
    tried, problems = brute_force(pair, Bound(3, 3, 3))
    assert tried > 50
    assert problems == []


@pytest.mark.parametrize("pair", [COMMIT_WITHOUT_PRECONDITION, UP_TO_DATE_LENGTH_ONLY,
                                  MERGE_TRUNCATE_ALWAYS], ids=lambda p: p.name)
def test_wrong_refactors_get_a_concrete_counterexample(pair: Pair) -> None:
    result = prove_pair(pair)
    assert not result.equal
    assert result.counterexample is not None
    # the counterexample is real: the int versions differ on it, and it satisfies the
    # precondition the pair is compared under
    assert tuple(result.before) != tuple(result.after)
    assert pair.before(INT, result.counterexample) == result.before
    assert pair.precondition(INT, Bound(), result.counterexample)
    assert "DIFFERENT" in result.render()
    _, problems = brute_force(pair)
    assert any("versions differ" in p for p in problems)


def test_the_commit_counterexample_breaks_the_precondition() -> None:
    """Only a log whose terms decrease, or exceed the leader's term, separates the loop
    from the median rule (which of the two z3 returns depends on the solver's state, so
    the test accepts either: both break the lemmas the precondition stands for)."""
    result = prove_pair(COMMIT_WITHOUT_PRECONDITION)
    assert result.counterexample is not None
    x = result.counterexample
    log = x["log"][:x["length"]]
    assert any(a > b for a, b in pairwise(log)) or any(t > x["term"] for t in log)
    assert not COMMIT.precondition(INT, Bound(), x)


def test_check_all_is_the_library_entry_point() -> None:
    assert all(r.equal for r in check_all(Bound(3, 2, 2)))
