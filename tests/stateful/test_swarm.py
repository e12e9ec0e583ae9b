"""What a run's swarm may draw (model/stateful.py: `swarm_campaigners`, `swarm_bounds`).

What these protect: the swarm narrows a run, never empties it. Leaving one server's election
timer out must leave every other server free to campaign, the zero draw (where shrinking
goes) must keep everyone, and a single server must always campaign, or a one-node cluster's
runs would never elect anyone. The run's bounds stay inside the model's."""

from __future__ import annotations

from collections.abc import Callable

from raftcheck.impl.raft import CORE
from raftcheck.model.fuzz import fuzz
from raftcheck.model.stateful import FUZZ_BOUNDS, swarm_bounds, swarm_campaigners
from raftcheck.model.world import Bounds, Config, Model


def always(k: int) -> Callable[[int], int]:
    """A draw that answers k, or the largest index when k is out of range."""
    return lambda n: min(k, n - 1)


def test_campaigners_are_everyone_or_all_but_one() -> None:
    drawn = [swarm_campaigners(3, always(k)) for k in range(4)]
    assert drawn == [frozenset({0, 1, 2}), frozenset({1, 2}), frozenset({0, 2}),
                     frozenset({0, 1})]


def test_a_single_server_always_campaigns() -> None:
    def draw(n: int) -> int:
        raise AssertionError("no choice to draw for one server")

    assert swarm_campaigners(1, draw) == frozenset({0})
    result = fuzz(Model(CORE, Config(cluster_size=1), FUZZ_BOUNDS), seed=0, examples=20)
    assert result.violation is None
    assert {"leader elected", "entry committed"} <= result.goals


def test_a_runs_bounds_stay_within_the_models() -> None:
    narrow = Bounds(max_term=2, max_log=1, values=1, max_messages=3)
    for k in range(3):
        bounds = swarm_bounds(narrow, always(k))
        assert bounds.max_log <= 1 and bounds.max_messages <= 3
    widest = swarm_bounds(FUZZ_BOUNDS, always(99))
    assert (widest.max_log, widest.max_messages) == (FUZZ_BOUNDS.max_log,
                                                     FUZZ_BOUNDS.max_messages)
