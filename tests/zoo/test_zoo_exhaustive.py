"""Every zoo bug is caught by the exhaustive engine within its catalogued bounds, by the
catalogued property, with a shortest counterexample of the catalogued length that replays
exactly. The deep ones (BFS over tens of thousands of states or more) run in `tox -e mutants`
and `tox -e deep`."""

from __future__ import annotations

import pytest

from raftcheck.model.breaking import hunt_exhaustive
from raftcheck.model.world import Config, Model
from raftcheck.model.zoo import BUGS, Bug
from raftcheck.properties import check_transition


def _cases() -> list[object]:
    return [pytest.param(bug, id=bug.name, marks=[pytest.mark.slow] if bug.slow else [])
            for bug in BUGS.values()]


@pytest.mark.parametrize("bug", _cases())
def test_bfs_finds_the_shortest_counterexample(bug: Bug) -> None:
    found = hunt_exhaustive(bug, max_seconds=None)
    assert found.found, f"{bug.name} escaped BFS within {bug.bounds.describe()}"
    assert found.property == bug.breaks
    assert found.length == bug.shortest
    states = Model(bug.core, Config(bug.nodes), bug.bounds).run(list(found.actions))
    assert check_transition(states[-2], states[-1]) == found.violation
