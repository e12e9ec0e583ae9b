"""The bundled core survives the Hypothesis engine and reaches every goal.

A green run only counts if the run got somewhere: each test also asserts that leaders were
elected, entries committed and applied everywhere, and leaders replaced.
"""

from __future__ import annotations

import os

import pytest
from attrs import evolve
from hypothesis import settings

from raftcheck.impl.raft import CORE
from raftcheck.model.fuzz import fuzz
from raftcheck.model.stateful import FUZZ_BOUNDS, build_machine
from raftcheck.model.world import Config, Model
from raftcheck.properties import GOALS

PROFILE = os.environ.get("RAFTCHECK_PROFILE", "ci")


def test_three_nodes_untimed_clean_and_every_goal_reached() -> None:
    result = fuzz(Model(CORE, Config(), FUZZ_BOUNDS), seed=1, profile=PROFILE)
    assert result.violation is None, result.trace
    assert result.goals == set(GOALS), f"goals never reached: {result.missing_goals}"
    assert result.distinct_states > 1000


def test_timed_world_clean_and_elects_leaders() -> None:
    """The timed world (seeded 150-300 ms election timeouts) is checked too."""
    model = Model(CORE, Config(timing="timed", seed=7), FUZZ_BOUNDS)
    result = fuzz(model, seed=2, profile="dev")
    assert result.violation is None, result.trace
    assert {"leader elected", "entry committed"} <= result.goals


@pytest.mark.parametrize(("size", "goals"), [
    (5, {"leader elected", "leader replaced", "entry committed"}),
    # Seven nodes need four acknowledgements to commit; a dev-sized random budget reaches
    # elections and re-elections but rarely a commit (the deep profile does).
    (7, {"leader elected", "leader replaced"}),
])
def test_larger_clusters_clean(size: int, goals: set[str]) -> None:
    bounds = evolve(FUZZ_BOUNDS, max_messages=4 * size)
    result = fuzz(Model(CORE, Config(cluster_size=size), bounds), seed=5, profile="dev")
    assert result.violation is None, result.trace
    assert goals <= result.goals


def test_fuzzing_is_deterministic_for_a_seed() -> None:
    model = Model(CORE, Config(), FUZZ_BOUNDS)
    first = fuzz(model, seed=11, examples=40)
    second = fuzz(model, seed=11, examples=40)
    assert (first.steps, first.distinct_states, first.goals) == (
        second.steps, second.distinct_states, second.goals)


# The machine also runs as an ordinary Hypothesis test under pytest, with the active profile.
TestFiveNodeMachine = build_machine(Model(CORE, Config(cluster_size=5), FUZZ_BOUNDS)).TestCase
TestFiveNodeMachine.settings = settings(max_examples=50)
