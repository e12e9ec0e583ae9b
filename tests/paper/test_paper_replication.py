"""Paper-rule tests for log replication, commitment and the state machine (etcd's
raft_paper_test.go style).

Each test drives `RaftCore.step(node, event)` directly on hand-built nodes and checks one rule
of the Raft paper's Figure 2: "AppendEntries RPC / Receiver implementation" rules 1-5 (§5.3),
"Rules for Servers / Leaders" (§5.3, §5.4.2) and "All Servers" (applying, §5.3); client
interaction (§8). Each docstring ends with the rule it checks.
"""

from __future__ import annotations

from attrs import evolve

from raftcheck.impl.broken import CommitPreviousTermByCounting
from raftcheck.impl.raft import CORE, RaftCore
from raftcheck.impl.types import (
    AppendEntries,
    AppendEntriesResponse,
    CandidateState,
    ClientReply,
    ClientRequest,
    Effects,
    Entry,
    HeartbeatTimeout,
    LeaderState,
    Node,
    Persistent,
    Put,
    Role,
    Volatile,
)


def log_of(*terms: int) -> tuple[Entry, ...]:
    """A log with an entry of each term; the entry at index i carries `put x=i`, so equal
    (index, term) pairs are equal entries, as Log Matching requires."""
    return tuple(Entry(term, Put("x", index)) for index, term in enumerate(terms, 1))


def follower(node_id: int = 1, n: int = 3, term: int = 1, log: tuple[Entry, ...] = (),
             commit: int = 0) -> Node:
    """A follower whose first `commit` entries are committed and applied."""
    node = Node(id=node_id, cluster_size=n, persistent=Persistent(term, None, log))
    return CORE.apply_committed(evolve(node, volatile=Volatile(commit_index=commit)))


def leader(node_id: int = 0, n: int = 3, term: int = 1, log: tuple[Entry, ...] = (),
           commit: int = 0, match: tuple[int, ...] | None = None,
           next_index: tuple[int, ...] | None = None) -> Node:
    """A leader of `term` (as elected: next_index past its log, match_index 0 for others),
    with leader state and commit index overridable."""
    base = follower(node_id, n, term, log, commit)
    node, _ = CORE.become_leader(evolve(base, role=Role.CANDIDATE,
                                        persistent=Persistent(term, node_id, log),
                                        candidate=CandidateState(frozenset({node_id}))))
    assert node.leader is not None
    state = LeaderState(next_index if next_index is not None else node.leader.next_index,
                        match if match is not None else node.leader.match_index)
    return evolve(node, leader=state)


def respond(node: Node, request: AppendEntries) -> tuple[Node, AppendEntriesResponse]:
    node, effects = CORE.step(node, request)
    assert len(effects.messages) == 1
    response = effects.messages[0]
    assert isinstance(response, AppendEntriesResponse)
    return node, response


# ------------------------------------------------------------------------------ receiver rules


def test_append_entries_rejected_when_log_is_too_short() -> None:
    """The follower has no entry at prev_log_index: reject, hinting its log length so the
    leader can back off in one step. The log is unchanged, the sender is the leader.
    Reference: §5.3 AppendEntries receiver 2: "Reply false if log doesn't contain an entry at..."
    """
    before = follower(term=2, log=log_of(1, 1))
    node, response = respond(before, AppendEntries(0, 1, 2, 5, 2, log_of(1, 1, 2, 2, 2, 2)[5:],
                                                    0))
    assert (response.success, response.term, response.last_log_index) == (False, 2, 2)
    assert node.log == before.log
    assert node.volatile.leader_hint == 0


def test_append_entries_rejected_on_term_mismatch_at_prev_without_truncating() -> None:
    """The follower has an entry at prev_log_index of another term: reject and hint
    prev_log_index - 1. A rejection never changes the log (truncation is rule 3's, and only
    for entries that are actually compared).
    Reference: §5.3 AppendEntries receiver 2: "...at prevLogIndex whose term matches prevLogTerm"
    """
    before = follower(term=3, log=log_of(1, 2, 2, 2))
    node, response = respond(before, AppendEntries(0, 1, 3, 3, 3, log_of(1, 2, 3, 3)[3:], 0))
    assert (response.success, response.last_log_index) == (False, 2)
    assert node.log == log_of(1, 2, 2, 2)
    assert response.term == 3


def test_conflicting_entry_and_all_that_follow_are_deleted() -> None:
    """An entry at the same index with a different term conflicts: it and everything after it
    go, and the leader's entries are appended (persisted in the same step).
    Reference: §5.3 AppendEntries receiver 3: "If an existing entry conflicts ... delete"
    """
    leader_log = log_of(1, 1, 3)
    node, response = respond(follower(term=3, log=log_of(1, 1, 2, 2, 2)),
                             AppendEntries(0, 1, 3, 2, 1, leader_log[2:], 0))
    assert node.log == leader_log
    assert (response.success, response.match_index) == (True, 3)


def test_append_entries_persists_the_log_before_answering() -> None:
    """The changed log is handed to stable storage in the step that sends the success.
    Reference: §5.3 persistent state: "Updated on stable storage before responding to RPCs"
    """
    node, effects = CORE.step(follower(term=2, log=log_of(1)),
                              AppendEntries(0, 1, 2, 1, 1, log_of(1, 2)[1:], 0))
    assert effects.persist == Persistent(2, None, log_of(1, 2))
    assert effects.persist == node.persistent


def test_new_entries_are_appended() -> None:
    """Entries past the end of the follower's log are appended; the answer's match_index is
    the last index the request verified.
    Reference: §5.3 AppendEntries receiver 4: "Append any new entries not already in the log"
    """
    node, response = respond(follower(term=2, log=log_of(1)),
                             AppendEntries(0, 1, 2, 1, 1, log_of(1, 2, 2)[1:], 0))
    assert node.log == log_of(1, 2, 2)
    assert (response.success, response.match_index, response.last_log_index) == (True, 3, 3)


def test_matching_entries_never_truncate_a_longer_log() -> None:
    """A request whose entries are already in the log (no conflict) keeps everything after
    them: a follower must not cut its log to the request's end.
    Reference: §5.3 AppendEntries receiver 3: only "If an existing entry conflicts with a new one"
    """
    before = follower(term=2, log=log_of(1, 2, 2, 2))
    node, response = respond(before, AppendEntries(0, 1, 2, 1, 1, log_of(1, 2)[1:], 0))
    assert node.log == log_of(1, 2, 2, 2)
    assert (response.success, response.match_index) == (True, 2)


def test_duplicated_or_reordered_append_entries_never_truncates() -> None:
    """The leader's AppendEntries for [2] and then for [2, 3] arrive in the opposite order,
    and the first is duplicated: the log ends with both entries, never shortened.
    Reference: §5.3 AppendEntries receiver 3: only "If an existing entry conflicts with a new one"
    """
    leader_log = log_of(1, 2, 2)
    short = AppendEntries(0, 1, 2, 1, 1, leader_log[1:2], 0)
    long = AppendEntries(0, 1, 2, 1, 1, leader_log[1:3], 0)
    node = follower(term=2, log=log_of(1))
    for request in (long, short, short):
        node, response = respond(node, request)
        assert response.success
        assert node.log == leader_log
    assert response.match_index == 2  # what the stale request verified, not the log length


def test_empty_append_entries_with_matching_prev_keeps_log() -> None:
    """A heartbeat (no entries) whose prev matches leaves a longer log untouched, and restarts
    the election timer: it comes from the current leader.
    Reference: §5.2 Followers: "...without receiving AppendEntries from current leader"
    """
    node, effects = CORE.step(follower(term=2, log=log_of(1, 2)), AppendEntries(0, 1, 2, 1, 1,
                                                                                 (), 0))
    assert node.log == log_of(1, 2)
    assert effects.reset_election_timer
    assert node.volatile.leader_hint == 0


def test_commit_index_is_min_of_leader_commit_and_last_new_entry() -> None:
    """The follower's log is longer than what the request verified (index 2 of 3; its index 3
    is a stale term-1 entry): leader_commit 3 only commits up to 2, the last new entry.
    Reference: §5.3 receiver 5: "set commitIndex = min(leaderCommit, index of last new entry)"
    """
    node, _ = respond(follower(term=2, log=log_of(1, 1, 1)),
                      AppendEntries(0, 1, 2, 1, 1, log_of(1, 1)[1:], 3))
    assert node.commit_index == 2
    assert node.last_applied == 2


def test_commit_index_follows_leader_commit_when_smaller() -> None:
    """leader_commit below the last new entry: commit exactly what the leader committed.
    Reference: §5.3 AppendEntries receiver 5: "If leaderCommit > commitIndex, set ..."
    """
    node, _ = respond(follower(term=2), AppendEntries(0, 1, 2, 0, 0, log_of(2, 2, 2), 1))
    assert node.commit_index == 1


def test_commit_index_never_decreases() -> None:
    """A stale, reordered request that verifies only index 1 arrives at a follower that has
    committed 3: commit_index stays 3 (and so does last_applied).
    Reference: §5.3 AppendEntries receiver 5: "If leaderCommit > commitIndex, set ..."
    """
    before = follower(term=2, log=log_of(2, 2, 2), commit=3)
    node, response = respond(before, AppendEntries(0, 1, 2, 0, 0, log_of(2), 4))
    assert (node.commit_index, node.last_applied) == (3, 3)
    assert node.log == before.log
    assert response.success


def test_candidate_steps_down_on_append_entries_of_its_term() -> None:
    """A candidate that hears from a leader of its own term accepts it and becomes follower,
    keeping its term and its (own) vote.
    Reference: §5.2 Candidates: "If AppendEntries RPC received from new leader: convert..."
    """
    node0 = Node(id=1, cluster_size=3, role=Role.CANDIDATE, persistent=Persistent(4, 1, ()),
                 candidate=CandidateState(frozenset({1})))
    node, response = respond(node0, AppendEntries(2, 1, 4, 0, 0, (), 0))
    assert (node.role, node.current_term, node.voted_for) == (Role.FOLLOWER, 4, 1)
    assert node.candidate is None
    assert node.volatile.leader_hint == 2
    assert response.success


# ------------------------------------------------------------------------------ leader rules


def test_success_updates_next_and_match_index() -> None:
    """A success tells the leader what the follower holds: match_index from the response,
    next_index just past it.
    Reference: §5.3 Leaders: "If successful: update nextIndex and matchIndex for follower"
    """
    node, effects = CORE.step(leader(term=2, log=log_of(1, 2, 2)),
                              AppendEntriesResponse(1, 0, 2, True, 2, 2))
    assert node.leader is not None
    assert (node.leader.next_index[1], node.leader.match_index[1]) == (4, 2)
    assert effects.messages == ()


def test_match_index_never_goes_backwards_on_reordered_responses() -> None:
    """The answer to a newer request (match 3) overtakes the answer to an older one (match 1):
    match_index stays 3 and next_index 4.
    Reference: §5.3 Leaders: "If successful: update nextIndex and matchIndex for follower"
    """
    node = leader(n=5, term=2, log=log_of(2, 2, 2))
    node, _ = CORE.step(node, AppendEntriesResponse(1, 0, 2, True, 3, 3))
    node, _ = CORE.step(node, AppendEntriesResponse(1, 0, 2, True, 1, 3))
    assert node.leader is not None
    assert (node.leader.match_index[1], node.leader.next_index[1]) == (3, 4)


def test_rejection_backs_off_to_the_hint_and_retries() -> None:
    """A follower with 2 entries rejects prev 5: the leader jumps next_index to 3 (hint + 1)
    and at once retries with everything from index 3, anchored at index 2.
    Reference: §5.3 Leaders: "If AppendEntries fails ...: decrement nextIndex and retry"
    """
    log = log_of(1, 1, 2, 2, 2)
    node, effects = CORE.step(leader(term=2, log=log), AppendEntriesResponse(1, 0, 2, False, 0,
                                                                              2))
    assert node.leader is not None
    assert node.leader.next_index[1] == 3
    assert effects.messages == (AppendEntries(0, 1, 2, 2, 1, log[2:], 0),)


def test_rejection_backs_off_at_least_one_index() -> None:
    """A hint that is no help (the follower's log is as long as the leader's) still moves
    next_index back by one, so repeated rejections make progress.
    Reference: §5.3 Leaders: "If AppendEntries fails ...: decrement nextIndex and retry"
    """
    log = log_of(1, 2, 2)
    node, effects = CORE.step(leader(term=2, log=log), AppendEntriesResponse(1, 0, 2, False, 0,
                                                                              7))
    assert node.leader is not None
    assert node.leader.next_index[1] == 3
    assert effects.messages == (AppendEntries(0, 1, 2, 2, 2, log[2:], 0),)


def test_rejection_never_backs_off_below_what_the_follower_holds() -> None:
    """A late rejection (hint 0) for a follower already known to match 2 keeps next_index at 3.
    Reference: §5.3 Leaders: "If AppendEntries fails ...: decrement nextIndex and retry"
    """
    node = leader(term=2, log=log_of(1, 2, 2), match=(3, 2, 0), next_index=(4, 3, 4))
    node, _ = CORE.step(node, AppendEntriesResponse(1, 0, 2, False, 0, 0))
    assert node.leader is not None
    assert node.leader.next_index[1] == 3


def check_commits_only_current_term_by_counting(core: RaftCore) -> None:
    # Leader of term 3 with a term-1 and a term-3 entry; n1 holds only the term-1 entry.
    node = leader(term=3, log=log_of(1, 3), match=(2, 0, 0))
    node, _ = core.step(node, AppendEntriesResponse(1, 0, 3, True, 1, 1))
    assert node.commit_index == 0, "a term-1 entry on a majority is not committed by counting"
    node, _ = core.step(node, AppendEntriesResponse(1, 0, 3, True, 2, 2))
    assert node.commit_index == 2, "a term-3 entry on a majority commits it and all before"
    assert node.last_applied == 2


def test_leader_commits_only_current_term_entries_by_counting() -> None:
    """A majority holding an entry of an earlier term does not commit it; a majority holding a
    current-term entry commits it and, indirectly, everything before it.
    Reference: §5.4.2 Leaders: "a majority of matchIndex[i] >= N, and log[N].term == currentTerm"
    """
    check_commits_only_current_term_by_counting(CORE)


def test_mutant_commit_previous_term_by_counting_breaks_the_rule() -> None:
    """The rule test above can fail: CommitPreviousTermByCounting commits the term-1 entry.
    Reference: §5.4.2 "Raft never commits log entries from previous terms by counting replicas"
    """
    try:
        check_commits_only_current_term_by_counting(CommitPreviousTermByCounting())
    except AssertionError:
        return
    raise AssertionError("CommitPreviousTermByCounting passed the current-term commit test")


def test_commit_needs_a_majority_of_match_index() -> None:
    """In a 5-node cluster an entry on the leader and one follower is not committed; on a
    third server it is.
    Reference: §5.3 Leaders: "If there exists an N ... a majority of matchIndex[i] >= N"
    """
    node = leader(n=5, term=2, log=log_of(2))
    node, _ = CORE.step(node, AppendEntriesResponse(3, 0, 2, True, 1, 1))
    assert node.commit_index == 0
    node, _ = CORE.step(node, AppendEntriesResponse(4, 0, 2, True, 1, 1))
    assert node.commit_index == 1


def test_response_to_a_node_no_longer_leading_is_ignored() -> None:
    """A success arriving after the leader stepped down (same term, now a follower) is dropped.
    Reference: §5.3 Leaders: "If successful: update nextIndex and matchIndex for follower"
    """
    before = follower(node_id=0, term=2, log=log_of(2))
    node, effects = CORE.step(before, AppendEntriesResponse(1, 0, 2, True, 1, 1))
    assert node == before
    assert effects == Effects()


def test_heartbeat_carries_missing_entries_and_leader_commit() -> None:
    """On its heartbeat interval a leader sends each follower the entries from its
    next_index, anchored at the entry before, with its commit index.
    Reference: §5.3 Leaders: "If last log index >= nextIndex for a follower: send ..."
    """
    log = log_of(1, 2, 2)
    node = leader(term=2, log=log, commit=2, match=(3, 3, 1), next_index=(4, 4, 2))
    _, effects = CORE.step(node, HeartbeatTimeout())
    assert effects.messages == (AppendEntries(0, 1, 2, 3, 2, (), 2),
                                AppendEntries(0, 2, 2, 1, 1, log[1:], 2))


def test_heartbeat_timeout_is_ignored_by_non_leaders() -> None:
    """Only leaders send heartbeats.
    Reference: §5.2 Leaders: "repeat during idle periods to prevent election timeouts"
    """
    before = follower(term=2)
    assert CORE.step(before, HeartbeatTimeout()) == (before, Effects())


# ------------------------------------------------------------------------------ clients


def test_leader_appends_client_command_and_replies_with_its_index() -> None:
    """The leader appends the command as an entry of its term (persisted), counts itself in
    match_index and tells the client where it went; it does not commit alone.
    Reference: §5.3 Leaders: "If command received from client: append entry to local log"
    """
    node, effects = CORE.step(leader(term=3, log=log_of(1)), ClientRequest(Put("y", 5)))
    assert node.log == (*log_of(1), Entry(3, Put("y", 5)))
    assert effects.client_reply == ClientReply(accepted=True, index=2)
    assert effects.persist == node.persistent
    assert node.leader is not None and node.leader.match_index[0] == 2
    assert node.commit_index == 0


def test_follower_refuses_client_command_and_names_the_leader() -> None:
    """A follower does not append: it refuses and names the leader it last heard from (none
    before hearing from any).
    Reference: §8 "that server will reject the client's request and supply information about..."
    """
    fresh = follower(term=2)
    node, effects = CORE.step(fresh, ClientRequest(Put("x", 1)))
    assert node == fresh
    assert effects.client_reply == ClientReply(accepted=False, leader_hint=None)
    taught, _ = CORE.step(fresh, AppendEntries(2, 1, 2, 0, 0, (), 0))
    node, effects = CORE.step(taught, ClientRequest(Put("x", 1)))
    assert node.log == ()
    assert effects.client_reply == ClientReply(accepted=False, leader_hint=2)


# ------------------------------------------------------------------------------ state machine


def test_committed_entries_are_applied_in_log_order() -> None:
    """Entries up to commit_index are applied once, in index order, to the key-value map:
    a later put to the same key wins; last_applied follows.
    Reference: §5.3 All Servers: "If commitIndex > lastApplied: ... apply log[lastApplied]"
    """
    entries = (Entry(1, Put("x", 1)), Entry(1, Put("y", 2)), Entry(1, Put("x", 3)),
               Entry(1, Put("z", 4)))
    node, _ = respond(follower(term=1), AppendEntries(0, 1, 1, 0, 0, entries, 2))
    assert (node.last_applied, node.volatile.state_machine) == (2, (("x", 1), ("y", 2)))
    node, _ = respond(node, AppendEntries(0, 1, 1, 4, 1, (), 3))
    assert (node.last_applied, node.volatile.state_machine) == (3, (("x", 3), ("y", 2)))
