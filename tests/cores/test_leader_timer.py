"""A core's optional `leader_timer`: the world fires `Timeout` at leaders only for a core that
says its leaders have a timer of their own (raftos's step-down), never for the paper's."""

from __future__ import annotations

from raftcheck.impl.raft import RaftCore
from raftcheck.impl.raftos import RaftosCore
from raftcheck.impl.types import Role
from raftcheck.model import world as w


def elected(model: w.Model) -> w.World:
    """n0 times out and is elected by n1's vote."""
    state = model.next_state(model.initial_state(), w.Timeout(0))
    for dest in (1, 0):
        state = model.next_state(state, w.Deliver(next(m for m in state.network
                                                        if m.dest == dest)))
    leader = state.nodes[0]
    assert leader is not None and leader.role is Role.LEADER
    return state


def test_the_papers_leader_has_no_timeout() -> None:
    model = w.Model(RaftCore())
    assert w.Timeout(0) not in list(model.candidate_actions(elected(model)))


def test_a_raftos_leader_steps_down_in_its_term_without_its_vote() -> None:
    model = w.Model(RaftosCore())
    state = elected(model)
    assert w.Timeout(0) in list(model.candidate_actions(state))
    after = model.next_state(state, w.Timeout(0)).nodes[0]
    assert after is not None and after.role is Role.FOLLOWER
    assert after.current_term == 1 and after.voted_for is None
