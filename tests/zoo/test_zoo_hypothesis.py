"""Every zoo bug is caught by the Hypothesis engine, by property name, with a shrunk trace
within 1.25x the exhaustive engine's shortest counterexample, that replays exactly and that
the correct core survives.

Fuzzing is deterministic for a seed and an example budget, so each bug's catalogue entry
(`model/zoo.py`: `Bug.seed`, `Bug.examples`) pins the seed and the budget under which the
engine finds it, by the catalogued property (`Bug.breaks`): a change that blinds the engine
to a bug, or makes its shrunk traces longer, fails here. The Hypothesis engine runs on the
generous fuzzing bounds (FUZZ_BOUNDS), not on the bug's own: it is not told where the bug
is. Every pin fits the default run.
"""

from __future__ import annotations

import math

import pytest

from raftcheck.impl.raft import CORE
from raftcheck.impl.types import RequestVote, RequestVoteResponse
from raftcheck.model.cores import load_core
from raftcheck.model.fuzz import fuzz
from raftcheck.model.shrink import first_violation
from raftcheck.model.stateful import FUZZ_BOUNDS
from raftcheck.model.world import Config, Deliver, Model, Timeout
from raftcheck.model.zoo import BUGS, Bug
from raftcheck.properties import check_transition
from raftcheck.properties.safety import election_safety

RATIO = 1.25
WORKERS = 2  # the result does not depend on it (tests/stateful/test_parallel_fuzz.py)


def _cases() -> list[object]:
    return [pytest.param(bug, id=bug.name) for bug in BUGS.values()]


@pytest.mark.parametrize("bug", _cases())
def test_hypothesis_catches_the_bug_with_a_short_trace(bug: Bug) -> None:
    name, prop = bug.name, bug.breaks
    model = Model(bug.core, Config(bug.nodes), FUZZ_BOUNDS)
    result = fuzz(model, seed=bug.seed, examples=bug.examples, workers=WORKERS)
    assert result.violation is not None, f"{name} survived {result.examples} runs"
    assert result.violation.property == prop
    assert 0 < len(result.actions) <= math.floor(RATIO * bug.shortest), \
        f"shrunk to {len(result.actions)} steps; the shortest is {bug.shortest}"
    # The printed trace is the numbered, readable one, ending with the witness.
    assert result.trace is not None
    assert "  1. " in result.trace and f"✗ {prop} violated" in result.trace
    # The action list replays strictly and breaks the same property on its last step.
    states = model.run(list(result.actions))
    last = check_transition(states[-2], states[-1])
    assert last is not None and last.property == prop
    # ...and the correct core survives the same actions (as far as they still apply).
    assert first_violation(Model(CORE, Config(bug.nodes), FUZZ_BOUNDS), result.actions) is None


def test_two_votes_break_election_safety_itself() -> None:
    """Past the auxiliary check, the double vote elects two leaders in one term: Figure 3's
    Election Safety is what it ultimately breaks."""
    model = Model(load_core("two-votes-per-term"), Config(), FUZZ_BOUNDS)
    world = model.initial_state()

    def deliver(kind: type, source: int, dest: int) -> None:
        nonlocal world
        message = next(m for m in world.network
                       if isinstance(m, kind) and (m.source, m.dest) == (source, dest))
        world = model.next_state(world, Deliver(message))

    world = model.next_state(model.next_state(world, Timeout(0)), Timeout(1))
    deliver(RequestVote, 0, 1)  # n1, a candidate that voted for itself, votes n0 too
    deliver(RequestVote, 1, 2)  # n2 votes n1
    deliver(RequestVoteResponse, 1, 0)  # n0: itself + n1
    deliver(RequestVoteResponse, 2, 1)  # n1: itself + n2
    violation = election_safety(world)
    assert violation is not None and violation.term == 1 and set(violation.nodes) == {0, 1}
    assert election_safety(Model(CORE, Config(), FUZZ_BOUNDS).initial_state()) is None
