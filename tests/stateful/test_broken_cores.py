"""Proof that the Hypothesis engine can fail: deliberately broken cores are caught, by
property name, with a short readable trace that replays exactly.

Each case pins the seed and example budget under which the engine finds the bug (fuzzing is
deterministic for a seed), so a change that makes the engine blind to a bug fails here.
`commit-previous-term-by-counting` (the paper's Figure 8) needs three successive leaders and
is too deep for a CI-sized random budget: the exhaustive engine and tests/paper catch it.
"""

from __future__ import annotations

import pytest

from impl.types import RequestVote, RequestVoteResponse
from model.cores import load_core
from model.fuzz import fuzz
from model.shrink import first_violation
from model.stateful import FUZZ_BOUNDS
from model.world import Config, Deliver, Model, Timeout
from properties import check_transition
from properties.safety import LEADER_COMPLETENESS, LOG_MATCHING, election_safety
from properties.transitions import SINGLE_VOTE_PER_TERM

CASES = [
    # core, property, seed, example budget, longest acceptable shrunk trace
    ("two-votes-per-term", SINGLE_VOTE_PER_TERM, 1, 100, 3),
    ("quorum-off-by-one", LEADER_COMPLETENESS, 1, 100, 4),
    ("vote-without-up-to-date-check", LEADER_COMPLETENESS, 1, 300, 10),
    ("append-without-consistency-check", LOG_MATCHING, 2, 1300, 13),
]


@pytest.mark.parametrize(("name", "prop", "seed", "examples", "longest"), CASES,
                         ids=[case[0] for case in CASES])
def test_broken_core_is_caught(name: str, prop: str, seed: int, examples: int,
                               longest: int) -> None:
    model = Model(load_core(name), Config(), FUZZ_BOUNDS)
    result = fuzz(model, seed=seed, examples=examples)
    assert result.violation is not None, f"{name} survived {result.examples} runs"
    assert result.violation.property == prop
    assert 0 < len(result.actions) <= longest
    # The printed trace is the numbered, readable one, ending with the witness.
    assert result.trace is not None
    assert "  1. " in result.trace and f"✗ {prop} violated" in result.trace
    # The saved action list replays strictly and breaks the same property on its last step.
    states = model.run(list(result.actions))
    last = check_transition(states[-2], states[-1])
    assert last is not None and last.property == prop
    # ...and the bundled core survives the same actions (as far as they still apply).
    assert first_violation(Model(load_core("raft"), Config(), FUZZ_BOUNDS),
                           result.actions) is None


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
    assert election_safety(Model(load_core("raft"), Config(), FUZZ_BOUNDS).initial_state()) \
        is None
