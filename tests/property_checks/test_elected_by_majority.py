"""Elected By Majority and the ghost ballots it reads (properties/transitions.py,
model/world.py `History.ballots`).

What these protect: the property must never flag the correct core, in particular when a voter
has already forgotten its vote by the time its answer elects the candidate (the reason it
reads ghost ballots instead of the voters' state); it must flag a leader elected without a
majority at the step it is elected; and the ballots of a campaign must be dropped when the
campaign ends, so the ghost adds no states after it."""

from __future__ import annotations

from itertools import pairwise

from raftcheck.impl.broken import CountDuplicateVotes
from raftcheck.impl.raft import CORE
from raftcheck.impl.types import RequestVote, RequestVoteResponse, Role
from raftcheck.model.world import Bounds, Config, Crash, Deliver, Duplicate, Model, Timeout
from raftcheck.properties import check_transition
from raftcheck.properties.transitions import ELECTED_BY_MAJORITY, elected_by_majority

BOUNDS = Bounds(max_term=3, max_log=0, values=1, max_messages=8, max_crashes=1,
                max_partitions=0, drop=True, duplicate=True)


def vote(source: int, dest: int, term: int) -> Deliver:
    return Deliver(RequestVote(source, dest, term, 0, 0))


def granted(source: int, dest: int, term: int) -> Deliver:
    return Deliver(RequestVoteResponse(source, dest, term, True))


def test_a_vote_the_voter_has_forgotten_still_counts() -> None:
    """n1 votes for n0 in term 1, then times out into term 2 (its record of the vote is gone);
    its term-1 answer still elects n0, legitimately: no violation."""
    model = Model(CORE, Config(3), BOUNDS)
    states = model.run([Timeout(0), vote(0, 1, 1), Timeout(1), granted(1, 0, 1)])
    assert states[-1].nodes[0].role is Role.LEADER
    assert states[-1].persistent_of(1).current_term == 2  # n1 no longer says it voted for n0
    for before, after in pairwise(states):
        assert check_transition(before, after) is None


def test_a_duplicated_vote_counted_twice_is_caught_when_it_elects() -> None:
    """Four servers: n0's own vote and n1's answer, delivered twice, is "three" to a core
    that counts answers. Flagged at the step n0 becomes leader, with the voters named."""
    model = Model(CountDuplicateVotes(), Config(4), BOUNDS)
    answer = RequestVoteResponse(1, 0, 1, True)
    states = model.run([Timeout(0), vote(0, 1, 1), Duplicate(answer), Deliver(answer),
                        Deliver(answer)])
    assert states[-1].nodes[0].role is Role.LEADER
    violation = elected_by_majority(states[-2], states[-1])
    assert violation is not None and violation.property == ELECTED_BY_MAJORITY
    assert violation.nodes == (0,) and violation.term == 1
    assert "votes from n0, n1: 2 of 4" in violation.detail
    assert all(elected_by_majority(b, a) is None for b, a in pairwise(states[:-1]))


def test_the_correct_core_with_the_same_duplicate_is_not_elected_and_not_flagged() -> None:
    model = Model(CORE, Config(4), BOUNDS)
    answer = RequestVoteResponse(1, 0, 1, True)
    states = model.run([Timeout(0), vote(0, 1, 1), Duplicate(answer), Deliver(answer),
                        Deliver(answer)])
    assert states[-1].nodes[0].role is Role.CANDIDATE
    assert all(check_transition(b, a) is None for b, a in pairwise(states))


def test_a_campaigns_ballots_are_dropped_when_it_ends() -> None:
    """Won: the winner's ballots go. Crashed: the crashed candidate's ballots go. Lost to a
    later term: they go at its next step."""
    model = Model(CORE, Config(3), BOUNDS)
    won = model.run([Timeout(0), vote(0, 1, 1)])
    assert won[-1].history.ballots == {(1, 0, 0), (1, 1, 0)}
    assert model.next_state(won[-1], granted(1, 0, 1)).history.ballots == frozenset()
    assert model.next_state(won[-1], Crash(0)).history.ballots == frozenset()
    moved_on = model.next_state(won[-1], Timeout(0))  # n0 campaigns again, in term 2
    assert moved_on.history.ballots == {(2, 0, 0)}


def test_a_vote_for_a_server_not_campaigning_is_no_ballot() -> None:
    """n1 answers n0's term-1 request after n0 has moved to term 2: the vote is cast (n1's
    voted_for) but n0's term-1 campaign is over, so it is not kept."""
    model = Model(CORE, Config(3), BOUNDS)
    states = model.run([Timeout(0), Timeout(0), vote(0, 1, 1)])
    assert states[-1].persistent_of(1).voted_for == 0
    assert (1, 1, 0) not in states[-1].history.ballots
