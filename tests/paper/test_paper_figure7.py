"""The Raft paper's Figure 7: a new leader brings six inconsistent followers into line.

"When the leader at the top comes to power, it is possible that any of scenarios (a-f) could
occur in follower logs" (§5.3): missing entries (a, b), extra uncommitted entries (c, d), or
both (e, f). The leader of term 8 never changes its own log; the AppendEntries consistency
check makes each follower's log identical to the leader's. Extra entries past the end of the
leader's log, as in (c) and (d), survive until the leader sends an entry that conflicts with
them (Figure 2 deletes only on a conflict), so the full repair needs one term-8 entry.

Node ids: n0 is the leader, n1..n6 are the paper's followers (a)..(f), in a 7-node cluster.
Messages are driven through `RaftCore.step` directly, first in first out, until none is left.
"""

from __future__ import annotations

from collections import deque

import pytest

from raftcheck.impl.raft import CORE
from raftcheck.impl.types import (
    AppendEntries,
    AppendEntriesResponse,
    CandidateState,
    ClientRequest,
    Entry,
    HeartbeatTimeout,
    Message,
    Node,
    Persistent,
    Put,
    RequestVoteResponse,
    Role,
)

LEADER_TERMS = (1, 1, 1, 4, 4, 5, 5, 6, 6, 6)
FOLLOWER_TERMS = {
    "a": (1, 1, 1, 4, 4, 5, 5, 6, 6),
    "b": (1, 1, 1, 4),
    "c": (1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6),
    "d": (1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7),
    "e": (1, 1, 1, 4, 4, 4, 4),
    "f": (1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3),
}
SIZE = 1 + len(FOLLOWER_TERMS)


def log_of(terms: tuple[int, ...]) -> tuple[Entry, ...]:
    """Entry i of term t carries `put x=100*t+i`: equal (index, term) pairs are equal entries,
    as Log Matching says they must be, and entries of different terms differ."""
    return tuple(Entry(term, Put("x", 100 * term + index))
                 for index, term in enumerate(terms, 1))


def figure7_cluster() -> tuple[dict[int, Node], tuple[Message, ...]]:
    """The followers of Figure 7 (each in the term of its last entry, none having voted), and
    the leader elected in term 8 by a majority of them. Returns the nodes and the messages in
    flight: the new leader's initial empty AppendEntries to every follower."""
    nodes = {0: CORE.initial_node(0, SIZE)}
    for node_id, terms in enumerate(FOLLOWER_TERMS.values(), 1):
        nodes[node_id] = Node(id=node_id, cluster_size=SIZE,
                              persistent=Persistent(terms[-1], None, log_of(terms)))
    candidate = Node(id=0, cluster_size=SIZE, role=Role.CANDIDATE,
                     persistent=Persistent(8, 0, log_of(LEADER_TERMS)),
                     candidate=CandidateState(frozenset({0, 1, 2})))
    nodes[0], effects = CORE.step(candidate, RequestVoteResponse(5, 0, 8, True))
    assert nodes[0].role is Role.LEADER
    return nodes, effects.messages


def run_until_quiescent(nodes: dict[int, Node], messages: tuple[Message, ...],
                        limit: int = 500) -> int:
    """Deliver messages (FIFO) through `step` until none are left; returns how many."""
    queue: deque[Message] = deque(messages)
    delivered = 0
    while queue:
        delivered += 1
        assert delivered <= limit, "replication did not quiesce"
        message = queue.popleft()
        nodes[message.dest], effects = CORE.step(nodes[message.dest], message)
        queue.extend(effects.messages)
    return delivered


def test_figure7_first_round_repairs_missing_and_conflicting_entries() -> None:
    """After the leader's first round of AppendEntries (and the retries the rejections cause),
    (a) and (b) are filled in and (e) and (f) lose their conflicting tails: their logs equal
    the leader's ten entries. (c) and (d) hold the leader's log as a prefix but keep their
    extra, uncommitted entries past index 10: nothing the leader sent conflicts with them yet,
    and rule 3 deletes only on a conflict. The leader's log never changes.
    Reference: §5.3 AppendEntries receiver 3: "If an existing entry conflicts ... delete"
    """
    nodes, messages = figure7_cluster()
    run_until_quiescent(nodes, messages)
    leader = nodes[0]
    assert leader.role is Role.LEADER and leader.current_term == 8
    assert leader.log == log_of(LEADER_TERMS)
    for node_id, (name, terms) in enumerate(FOLLOWER_TERMS.items(), 1):
        follower = nodes[node_id]
        assert follower.current_term == 8, f"follower ({name})"
        if name in ("c", "d"):
            assert follower.log == log_of(terms), f"follower ({name}) keeps its extra entries"
            assert follower.log[:10] == leader.log
        else:
            assert follower.log == leader.log, f"follower ({name})"
    assert leader.leader is not None
    assert leader.leader.match_index == (10,) * SIZE
    assert leader.leader.next_index == (11,) * SIZE


def test_figure7_leader_makes_every_follower_log_match() -> None:
    """Once the leader appends an entry of term 8 at index 11 and sends it, (c)'s extra
    term-6 entry and (d)'s term-7 entries conflict with it and are deleted: every follower's
    log is exactly the leader's eleven entries.
    Reference: §5.3 "the leader handles inconsistencies by forcing the followers' logs to duplicate"
    """
    nodes, messages = figure7_cluster()
    run_until_quiescent(nodes, messages)
    nodes[0], _ = CORE.step(nodes[0], ClientRequest(Put("y", 8)))
    nodes[0], effects = CORE.step(nodes[0], HeartbeatTimeout())
    run_until_quiescent(nodes, effects.messages)
    assert nodes[0].log == (*log_of(LEADER_TERMS), Entry(8, Put("y", 8)))
    for node_id, name in enumerate(FOLLOWER_TERMS, 1):
        assert nodes[node_id].log == nodes[0].log, f"follower ({name})"


@pytest.mark.parametrize("name", list(FOLLOWER_TERMS))
def test_figure7_each_follower_alone(name: str) -> None:
    """The same repair with one follower at a time (the others' messages are lost), from the
    leader's election to its first term-8 entry.
    Reference: §5.3 "the leader must find the latest log entry where the two logs agree"
    """
    nodes, messages = figure7_cluster()
    node_id = list(FOLLOWER_TERMS).index(name) + 1
    run_until_quiescent(nodes, tuple(m for m in messages if m.dest == node_id))
    nodes[0], _ = CORE.step(nodes[0], ClientRequest(Put("y", 8)))
    nodes[0], effects = CORE.step(nodes[0], HeartbeatTimeout())
    run_until_quiescent(nodes, tuple(m for m in effects.messages if m.dest == node_id))
    assert nodes[node_id].log == nodes[0].log
    assert nodes[0].commit_index == 0, "two of seven servers are not a majority"


def test_figure7_entries_of_term_8_commit_everything_before() -> None:
    """The leader cannot commit its term-6 entries by counting; once it appends a term-8 entry
    and that reaches a majority, commit_index jumps to 11, and the next heartbeat brings every
    follower's commit index and state machine to the leader's.
    Reference: §5.4.2 "entries from the leader's current term are committed by counting replicas"
    """
    nodes, messages = figure7_cluster()
    run_until_quiescent(nodes, messages)
    assert nodes[0].commit_index == 0, "term-6 entries on every server, still not committed"
    nodes[0], reply = CORE.step(nodes[0], ClientRequest(Put("y", 8)))
    assert reply.client_reply is not None and reply.client_reply.index == 11
    for _ in range(2):  # one round replicates and commits, the next tells the followers
        nodes[0], effects = CORE.step(nodes[0], HeartbeatTimeout())
        run_until_quiescent(nodes, effects.messages)
    assert nodes[0].commit_index == 11
    for node in nodes.values():
        assert (node.commit_index, node.last_applied) == (11, 11)
        assert node.volatile.state_machine == nodes[0].volatile.state_machine
    assert dict(nodes[0].volatile.state_machine) == {"x": 610, "y": 8}


def test_figure7_stale_leader_rejoining_does_not_disturb_the_repair() -> None:
    """Follower (d) was leader of term 7; a duplicate of its term-7 AppendEntries arriving
    after the repair is rejected with term 8 and changes nobody's log.
    Reference: §5.1 AppendEntries receiver 1: "Reply false if term < currentTerm"
    """
    nodes, messages = figure7_cluster()
    run_until_quiescent(nodes, messages)
    before = dict(nodes)
    stale = AppendEntries(4, 1, 7, 10, 6, log_of(FOLLOWER_TERMS["d"])[10:], 0)
    nodes[1], effects = CORE.step(nodes[1], stale)
    assert nodes == before
    assert effects.messages == (AppendEntriesResponse(1, 4, 8, False, 0, 10),)
