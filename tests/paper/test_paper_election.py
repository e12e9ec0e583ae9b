"""Paper-rule tests for terms and leader election (etcd's raft_paper_test.go style).

Each test drives `RaftCore.step(node, event)` directly on hand-built nodes and checks one rule
of the Raft paper's Figure 2; its docstring ends with the rule it checks. Terms and elections:
"Rules for Servers / All Servers" (§5.1), "RequestVote RPC" (§5.2, §5.4.1), "Candidates"
(§5.2).
"""

from __future__ import annotations

from attrs import evolve

from raftcheck.impl.broken import TwoVotesPerTerm, VoteWithoutUpToDateCheck
from raftcheck.impl.raft import CORE, RaftCore
from raftcheck.impl.types import (
    AppendEntries,
    AppendEntriesResponse,
    CandidateState,
    ClientRequest,
    Effects,
    ElectionTimeout,
    Entry,
    Node,
    Persistent,
    Put,
    RequestVote,
    RequestVoteResponse,
    Role,
)


def log_of(*terms: int) -> tuple[Entry, ...]:
    """A log with an entry of each term; the entry at index i carries `put x=i`, so equal
    (index, term) pairs are equal entries, as Log Matching requires."""
    return tuple(Entry(term, Put("x", index)) for index, term in enumerate(terms, 1))


def follower(node_id: int = 1, n: int = 3, term: int = 1, log: tuple[Entry, ...] = (),
             voted_for: int | None = None) -> Node:
    return Node(id=node_id, cluster_size=n, persistent=Persistent(term, voted_for, log))


def candidate(node_id: int = 0, n: int = 3, term: int = 1, log: tuple[Entry, ...] = (),
              votes: tuple[int, ...] = ()) -> Node:
    return Node(id=node_id, cluster_size=n, role=Role.CANDIDATE,
                persistent=Persistent(term, node_id, log),
                candidate=CandidateState(frozenset({node_id, *votes})))


def leader(node_id: int = 0, n: int = 3, term: int = 1, log: tuple[Entry, ...] = ()) -> Node:
    node, _ = CORE.become_leader(candidate(node_id, n, term, log))
    return node


def only_message(effects: Effects) -> object:
    assert len(effects.messages) == 1, effects.messages
    return effects.messages[0]


# ------------------------------------------------------------------------------ term rules


def test_higher_term_request_makes_leader_adopt_term_and_follow() -> None:
    """A leader of term 2 that receives an AppendEntries of term 3 adopts term 3, forgets its
    vote and leader state, and becomes a follower before handling the request (which it then
    accepts, naming the new leader).
    Reference: §5.1 "If RPC request or response contains term T > currentTerm: ...follower"
    """
    old = leader(node_id=0, term=2, log=log_of(1))
    request = AppendEntries(2, 0, 3, 1, 1, (), 0)
    node, effects = CORE.step(old, request)
    assert node.role is Role.FOLLOWER
    assert node.current_term == 3
    assert node.voted_for is None
    assert node.leader is None and node.candidate is None
    assert node.volatile.leader_hint == 2
    assert effects.persist == Persistent(3, None, log_of(1))
    assert only_message(effects) == AppendEntriesResponse(0, 2, 3, True, 1, 1)


def test_higher_term_response_makes_leader_step_down() -> None:
    """Responses carry terms too: a leader that hears a higher term in an
    AppendEntriesResponse adopts it and steps down, and sends nothing.
    Reference: §5.1 "If RPC request or response contains term T > currentTerm: ...follower"
    """
    old = leader(node_id=0, term=2, log=log_of(1, 2))
    node, effects = CORE.step(old, AppendEntriesResponse(1, 0, 5, False, 0, 2))
    assert (node.role, node.current_term, node.voted_for) == (Role.FOLLOWER, 5, None)
    assert node.leader is None
    assert node.log == log_of(1, 2)
    assert effects.messages == ()
    assert effects.persist == Persistent(5, None, log_of(1, 2))


def test_higher_term_vote_response_makes_candidate_step_down() -> None:
    """A candidate refused by a voter that is in a later term adopts that term and becomes a
    follower; the refusal is not counted as anything.
    Reference: §5.1 "If RPC request or response contains term T > currentTerm: ...follower"
    """
    node, effects = CORE.step(candidate(term=2), RequestVoteResponse(1, 0, 4, False))
    assert (node.role, node.current_term, node.voted_for) == (Role.FOLLOWER, 4, None)
    assert node.candidate is None
    assert effects.messages == ()


def test_stale_request_vote_is_refused_with_current_term() -> None:
    """A RequestVote from an older term is refused, the answer carries the receiver's term (so
    the candidate learns it is behind), and the receiver's state is unchanged.
    Reference: §5.1 RequestVote receiver 1: "Reply false if term < currentTerm"
    """
    voter = follower(node_id=1, term=5)
    node, effects = CORE.step(voter, RequestVote(0, 1, 4, 10, 4))
    assert node == voter
    assert only_message(effects) == RequestVoteResponse(1, 0, 5, False)
    assert effects.persist is None
    assert not effects.reset_election_timer


def test_stale_append_entries_is_rejected_with_current_term() -> None:
    """An AppendEntries from a deposed leader (older term) is rejected with the current term,
    changes nothing (not the log, not the leader it knows) and does not restart the election
    timer: it is not from the current leader.
    Reference: §5.1 AppendEntries receiver 1: "Reply false if term < currentTerm"
    """
    node0 = evolve(follower(node_id=1, term=3, log=log_of(1)),
                   volatile=evolve(follower().volatile, leader_hint=2))
    node, effects = CORE.step(node0, AppendEntries(0, 1, 2, 1, 1, log_of(1, 2)[1:], 2))
    assert node == node0
    response = only_message(effects)
    assert isinstance(response, AppendEntriesResponse)
    assert (response.term, response.success) == (3, False)
    assert not effects.reset_election_timer
    assert effects.persist is None


def test_stale_vote_response_is_ignored() -> None:
    """A vote granted in an earlier term does not count in the current election: with it, a
    candidate of term 3 in a 3-node cluster would have a majority.
    Reference: §5.1 "terms act as a logical clock": stale responses are dropped (raft.tla)
    """
    before = candidate(term=3)
    node, effects = CORE.step(before, RequestVoteResponse(1, 0, 2, True))
    assert node == before
    assert effects == Effects()


def test_stale_append_entries_response_is_ignored() -> None:
    """A success from an earlier term says nothing about the leader's current log: the leader's
    next_index and match_index are untouched and nothing is committed.
    Reference: §5.1 "terms act as a logical clock": stale responses are dropped (raft.tla)
    """
    before = leader(term=3, log=log_of(1, 3))
    node, effects = CORE.step(before, AppendEntriesResponse(1, 0, 2, True, 2, 2))
    assert node == before
    assert effects == Effects()


# ------------------------------------------------------------------------------ RequestVote


def check_grants_once_per_term(core: RaftCore) -> None:
    voter = follower(node_id=2, term=1)
    voter, first = core.step(voter, RequestVote(0, 2, 2, 0, 0))
    voter, second = core.step(voter, RequestVote(1, 2, 2, 0, 0))
    assert only_message(first) == RequestVoteResponse(2, 0, 2, True)
    assert only_message(second) == RequestVoteResponse(2, 1, 2, False)
    assert voter.voted_for == 0


def test_vote_is_granted_once_per_term() -> None:
    """Having voted for n0 in term 2, a voter refuses n1 in the same term, and keeps its vote.
    Reference: §5.2 RequestVote receiver 2: "If votedFor is null or candidateId ... grant vote"
    """
    check_grants_once_per_term(CORE)


def test_mutant_two_votes_per_term_breaks_grant_once() -> None:
    """The rule test above can fail: the TwoVotesPerTerm mutant votes for both candidates.
    Reference: §5.2 "Each server will vote for at most one candidate in a given term"
    """
    try:
        check_grants_once_per_term(TwoVotesPerTerm())
    except AssertionError:
        return
    raise AssertionError("TwoVotesPerTerm passed the grant-once-per-term test")


def test_vote_is_granted_again_to_the_same_candidate() -> None:
    """A retransmitted RequestVote from the candidate it already voted for is granted again
    (the first answer may have been lost).
    Reference: §5.2 RequestVote receiver 2: "If votedFor is null or candidateId ... grant vote"
    """
    voter = follower(node_id=2, term=2, voted_for=0)
    node, effects = CORE.step(voter, RequestVote(0, 2, 2, 0, 0))
    assert only_message(effects) == RequestVoteResponse(2, 0, 2, True)
    assert node.voted_for == 0


def check_up_to_date_rule(core: RaftCore) -> None:
    voter_log = log_of(1, 1, 2)  # last term 2, last index 3

    def vote(last_log_index: int, last_log_term: int) -> bool:
        _, effects = core.step(follower(node_id=1, term=3, log=voter_log),
                               RequestVote(0, 1, 3, last_log_index, last_log_term))
        response = only_message(effects)
        assert isinstance(response, RequestVoteResponse)
        return response.vote_granted

    assert vote(1, 3), "a higher last term wins even with a shorter log"
    assert vote(4, 2), "equal last terms: a longer log wins"
    assert vote(3, 2), "equal last terms and equal length: at least as up-to-date"
    assert not vote(2, 2), "equal last terms: a shorter log is behind"
    assert not vote(9, 1), "an older last term is behind however long the log"
    assert not vote(0, 0), "an empty log is behind a non-empty one"


def test_vote_requires_candidate_log_at_least_as_up_to_date() -> None:
    """The up-to-date comparison: last terms first, then lengths.
    Reference: §5.4.1 "candidate's log is at least as up-to-date as receiver's log, grant vote"
    """
    check_up_to_date_rule(CORE)


def test_mutant_vote_without_up_to_date_check_breaks_the_rule() -> None:
    """The rule test above can fail: VoteWithoutUpToDateCheck grants a behind candidate.
    Reference: §5.4.1 "the voter denies its vote if its own log is more up-to-date"
    """
    try:
        check_up_to_date_rule(VoteWithoutUpToDateCheck())
    except AssertionError:
        return
    raise AssertionError("VoteWithoutUpToDateCheck passed the up-to-date test")


def test_refused_higher_term_vote_still_adopts_the_term() -> None:
    """A candidate with a newer term but a stale log makes the voter adopt its term (and clear
    its vote, persisted) yet is refused: term rules and the vote decision are independent.
    Reference: §5.1 "If ... term T > currentTerm: set currentTerm = T"; §5.4.1 up-to-date check
    """
    voter = follower(node_id=1, term=2, log=log_of(1, 2), voted_for=2)
    node, effects = CORE.step(voter, RequestVote(0, 1, 3, 5, 1))
    assert (node.current_term, node.voted_for) == (3, None)
    assert only_message(effects) == RequestVoteResponse(1, 0, 3, False)
    assert effects.persist == Persistent(3, None, log_of(1, 2))
    assert not effects.reset_election_timer


def test_granting_a_vote_restarts_the_election_timer_refusing_does_not() -> None:
    """A voter that grants its vote restarts its election timer; one that refuses does not (a
    refused candidate must not be able to hold off an election).
    Reference: §5.2 Followers: "If election timeout elapses without ... granting vote to candidate"
    """
    _, granted = CORE.step(follower(node_id=1, term=1), RequestVote(0, 1, 2, 0, 0))
    _, refused = CORE.step(follower(node_id=1, term=2, voted_for=2), RequestVote(0, 1, 2, 0, 0))
    assert granted.reset_election_timer
    assert not refused.reset_election_timer


def test_vote_is_persisted_with_the_reply() -> None:
    """The vote is part of the persistent state written in the same step that sends the
    grant, so a crash after replying cannot forget it.
    Reference: §5.2 Figure 2 persistent state: "Updated on stable storage before responding to RPCs"
    """
    node, effects = CORE.step(follower(node_id=1, term=1, log=log_of(1)),
                              RequestVote(0, 1, 2, 1, 1))
    assert effects.persist == Persistent(2, 0, log_of(1))
    assert effects.persist == node.persistent
    assert only_message(effects) == RequestVoteResponse(1, 0, 2, True)


# ------------------------------------------------------------------------------ vote responses


def test_majority_of_votes_makes_leader_with_heartbeats_to_every_peer() -> None:
    """In a 5-node cluster a candidate with its own vote and two more wins: it becomes leader
    and sends every peer an empty AppendEntries anchored at its last entry, with next_index
    just past its log and match_index 0 for the others.
    Reference: §5.2 Leaders: "Upon election: send initial empty AppendEntries RPCs (heartbeat)"
    """
    node = candidate(node_id=0, n=5, term=4, log=log_of(1, 3), votes=(1,))
    node, effects = CORE.step(node, RequestVoteResponse(2, 0, 4, True))
    assert node.role is Role.LEADER
    assert node.leader is not None and node.candidate is None
    assert node.leader.next_index == (3, 3, 3, 3, 3)
    assert node.leader.match_index == (2, 0, 0, 0, 0)
    assert effects.messages == tuple(AppendEntries(0, peer, 4, 2, 3, (), 0)
                                     for peer in (1, 2, 3, 4))


def test_one_vote_short_of_majority_is_not_enough() -> None:
    """Two of five votes (its own and one more) leave a candidate a candidate.
    Reference: §5.2 "If votes received from majority of servers: become leader"
    """
    node, effects = CORE.step(candidate(n=5, term=1), RequestVoteResponse(1, 0, 1, True))
    assert node.role is Role.CANDIDATE
    assert node.candidate == CandidateState(frozenset({0, 1}))
    assert effects.messages == ()


def test_duplicate_vote_from_same_peer_counts_once() -> None:
    """A duplicated grant from n1 does not make two votes: in a 5-node cluster the candidate
    still needs a third voter.
    Reference: §5.2 "If votes received from majority of servers: become leader"
    """
    node = candidate(n=5, term=1)
    node, _ = CORE.step(node, RequestVoteResponse(1, 0, 1, True))
    node, effects = CORE.step(node, RequestVoteResponse(1, 0, 1, True))
    assert node.role is Role.CANDIDATE
    assert effects.messages == ()
    node, _ = CORE.step(node, RequestVoteResponse(2, 0, 1, True))
    assert node.role is Role.LEADER


def test_refused_votes_do_not_count() -> None:
    """Refusals from every peer leave the candidate with its own vote only.
    Reference: §5.2 "If votes received from majority of servers: become leader"
    """
    node = candidate(n=3, term=1)
    for peer in (1, 2):
        node, effects = CORE.step(node, RequestVoteResponse(peer, 0, 1, False))
        assert effects.messages == ()
    assert node.role is Role.CANDIDATE
    assert node.candidate == CandidateState(frozenset({0}))


def test_vote_arriving_after_the_election_is_won_is_ignored() -> None:
    """A late grant to a node that is already leader changes nothing and re-sends nothing.
    Reference: §5.2 "If votes received from majority of servers: become leader"
    """
    before = leader(n=3, term=2)
    node, effects = CORE.step(before, RequestVoteResponse(2, 0, 2, True))
    assert node == before
    assert effects == Effects()


# ------------------------------------------------------------------------------ election timeout


def test_election_timeout_starts_an_election() -> None:
    """A follower whose timer fires increments its term, votes for itself (persisted), restarts
    its timer and asks every other server for its vote, telling them its last log index and
    term.
    Reference: §5.2 Candidates: "increment currentTerm, vote for self, ... send RequestVote RPCs"
    """
    node, effects = CORE.step(follower(node_id=1, n=3, term=4, log=log_of(1, 4)),
                              ElectionTimeout())
    assert (node.role, node.current_term, node.voted_for) == (Role.CANDIDATE, 5, 1)
    assert node.candidate == CandidateState(frozenset({1}))
    assert effects.persist == Persistent(5, 1, log_of(1, 4))
    assert effects.reset_election_timer
    assert effects.messages == (RequestVote(1, 0, 5, 2, 4), RequestVote(1, 2, 5, 2, 4))


def test_candidate_timeout_starts_a_new_election() -> None:
    """A candidate whose election timed out (a split vote) starts another in the next term,
    forgetting the votes of the old one.
    Reference: §5.2 Candidates: "If election timeout elapses: start new election"
    """
    node, effects = CORE.step(candidate(n=5, term=2, votes=(3,)), ElectionTimeout())
    assert (node.role, node.current_term, node.voted_for) == (Role.CANDIDATE, 3, 0)
    assert node.candidate == CandidateState(frozenset({0}))
    assert len(effects.messages) == 4
    assert all(isinstance(m, RequestVote) and m.term == 3 for m in effects.messages)


def test_leader_ignores_election_timeout() -> None:
    """A leader has no election timer: a stray timeout changes nothing.
    Reference: §5.2 Followers (not leaders): "If election timeout elapses ...: convert to candidate"
    """
    before = leader(term=3, log=log_of(1))
    node, effects = CORE.step(before, ElectionTimeout())
    assert node == before
    assert effects == Effects()


def test_single_node_cluster_elects_itself_and_commits_alone() -> None:
    """In a cluster of one, its own vote is a majority: a timeout makes it leader directly, and
    an entry it appends is committed and applied at once.
    Reference: §5.2 "If votes received from majority of servers: become leader"
    """
    node, effects = CORE.step(CORE.initial_node(0, 1), ElectionTimeout())
    assert (node.role, node.current_term, node.voted_for) == (Role.LEADER, 1, 0)
    assert effects.messages == ()
    assert effects.persist == Persistent(1, 0, ())
    node, effects = CORE.step(node, ClientRequest(Put("x", 7)))
    assert (node.commit_index, node.last_applied) == (1, 1)
    assert node.volatile.state_machine == (("x", 7),)
