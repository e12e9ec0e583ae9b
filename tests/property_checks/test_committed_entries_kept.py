"""Committed Entries Kept (properties/transitions.py).

What these protect: the property must flag a server that overwrites an entry it knows is
committed, at the step it does so (a deposed leader's stale AppendEntries accepted by the new
leader, the accept-stale-term-append bug); it must not flag what the correct core does on the
same run, including the legitimate truncation of an entry that was never committed, nor a
restart (commit_index is volatile, and the restarted server has not been told anything is
committed)."""

from __future__ import annotations

from itertools import pairwise

from raftcheck.impl.broken import AcceptStaleTermAppend
from raftcheck.impl.raft import CORE
from raftcheck.impl.types import (
    AppendEntries,
    AppendEntriesResponse,
    Entry,
    Put,
    RequestVote,
    RequestVoteResponse,
)
from raftcheck.model.world import (
    Action,
    Bounds,
    Config,
    Crash,
    Deliver,
    Heartbeat,
    Model,
    Restart,
    Submit,
    Timeout,
)
from raftcheck.properties import check_transition
from raftcheck.properties.transitions import COMMITTED_ENTRIES_KEPT, committed_entries_kept

BOUNDS = Bounds(max_term=2, max_log=1, values=2, max_messages=12, max_crashes=1,
                max_partitions=0, drop=False, duplicate=False)
OLD = Entry(1, Put("x", 2))  # n2's entry as leader of term 1, never committed
NEW = Entry(2, Put("x", 1))  # n0's entry as leader of term 2, committed by n0 and n2

# n2 leads term 1 and sends its entry in a heartbeat that stays in flight; n0 wins term 2
# with n1's vote, commits its own entry at index 1 with n2's acknowledgement (n2 truncates
# its uncommitted term-1 entry to take it); then n2's term-1 request reaches n0.
STALE_APPEND: list[Action] = [
    Timeout(2), Deliver(RequestVote(2, 0, 1, 0, 0)),
    Deliver(RequestVoteResponse(0, 2, 1, True)),
    Submit(2, 2), Timeout(0), Heartbeat(2),
    Deliver(RequestVote(0, 1, 2, 0, 0)), Deliver(RequestVoteResponse(1, 0, 2, True)),
    Submit(0, 1), Heartbeat(0),
    Deliver(AppendEntries(0, 2, 2, 0, 0, (NEW,), 0)),
    Deliver(AppendEntriesResponse(2, 0, 2, True, 1, 1)),
    Deliver(AppendEntries(2, 0, 1, 0, 0, (OLD,), 0)),
]


def test_a_committed_entry_overwritten_by_a_stale_request_is_caught_when_it_happens() -> None:
    states = Model(AcceptStaleTermAppend(), Config(3), BOUNDS).run(STALE_APPEND)
    assert states[-2].nodes[0].commit_index == 1 and states[-2].nodes[0].log == (NEW,)
    assert states[-1].nodes[0].log == (OLD,)
    violation = committed_entries_kept(states[-2], states[-1])
    assert violation is not None and violation.property == COMMITTED_ENTRIES_KEPT
    assert violation.nodes == (0,) and violation.index == 1 and violation.term == 2
    assert "commit_index 1" in violation.detail
    assert all(check_transition(b, a) is None for b, a in pairwise(states[:-1]))


def test_the_correct_core_rejects_the_stale_request_and_is_not_flagged() -> None:
    states = Model(CORE, Config(3), BOUNDS).run(STALE_APPEND)
    assert states[-1].nodes[0].log == (NEW,)
    # n2 replaced its term-1 entry, which was never committed: legitimate (§5.3).
    assert states[-3].nodes[2].log == (NEW,) and states[-4].nodes[2].log == (OLD,)
    assert all(check_transition(b, a) is None for b, a in pairwise(states))


def test_a_restart_forgets_commit_index_and_is_not_an_overwrite() -> None:
    model = Model(CORE, Config(3), BOUNDS)
    states = model.run([*STALE_APPEND[:-1], Crash(0), Restart(0)])
    assert states[-3].nodes[0].commit_index == 1
    assert states[-1].nodes[0].commit_index == 0 and states[-1].nodes[0].log == (NEW,)
    assert all(committed_entries_kept(b, a) is None for b, a in pairwise(states))
