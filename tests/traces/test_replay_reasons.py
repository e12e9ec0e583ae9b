"""Where a trace stops applying, replay says why: the guard the step fails, in one line."""

from __future__ import annotations

import pytest

from raftcheck.impl.raft import CORE
from raftcheck.impl.types import RequestVote, RequestVoteResponse
from raftcheck.model.replay import STOPS_APPLYING, replay
from raftcheck.model.world import (
    Action,
    Bounds,
    Config,
    Crash,
    Deliver,
    Drop,
    Duplicate,
    Heal,
    Heartbeat,
    Model,
    Partition,
    Restart,
    Submit,
    Tick,
    Timeout,
)

BOUNDS = Bounds(max_term=2, max_log=1, values=1, max_messages=4, max_crashes=1,
                max_partitions=1, drop=False, duplicate=False)
VOTE = RequestVote(0, 1, 1, 0, 0)


@pytest.mark.parametrize(("actions", "reason"), [
    ([Deliver(VOTE)], "that message is not in flight"),
    ([Timeout(0), Deliver(VOTE), Deliver(RequestVoteResponse(1, 0, 1, False))],
     "in flight instead: RequestVoteResponse n1→n0 term=1 granted"),
    ([Timeout(0), Drop(VOTE)], "the bounds do not allow dropping messages (drop=off)"),
    ([Timeout(0), Duplicate(VOTE)], "duplicate=off"),
    ([Timeout(0), Crash(1), Deliver(VOTE)], "n1 is down"),
    ([Timeout(0), Partition(frozenset({1})), Deliver(VOTE)],
     "n0 and n1 are on different sides of the partition"),
    ([Crash(0), Timeout(0)], "n0 is down"),
    ([Crash(0), Crash(1)], "already 1 crashes, the bound max_crashes"),
    ([Restart(0)], "n0 is not down"),
    ([Heartbeat(0)], "n0 is a follower, not the leader"),
    ([Submit(0, 1)], "n0 is a follower, not the leader (clients talk to leaders)"),
    ([Timeout(0), Timeout(0), Timeout(0)], "n0 is at term 2, the bound max_term"),
    ([Timeout(0), Timeout(1), Timeout(2)], "it would put 6 messages in flight, over the "
                                           "bound max_messages=4"),
    ([Heal()], "there is no partition to heal"),
    ([Partition(frozenset({0})), Heal(), Partition(frozenset({0}))],
     "already 1 partitions, the bound max_partitions"),
    ([Partition(frozenset({0, 1}))], "not a partition this model enumerates"),
    ([Tick()], "Tick needs the timed world"),
])
def test_the_step_that_stops_applying_and_why(actions: list[Action], reason: str) -> None:
    result = replay(Model(CORE, Config(), BOUNDS), actions)
    assert result.outcome == STOPS_APPLYING
    assert result.step == len(actions)
    assert result.reason is not None and reason in result.reason
    assert "\n" not in result.reason


def test_timeouts_are_ticks_in_the_timed_world() -> None:
    result = replay(Model(CORE, Config(timing="timed"), BOUNDS), [Timeout(0)])
    assert result.reason == "the timed world has no Timeout action (its timers fire by Tick)"
