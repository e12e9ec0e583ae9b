"""The bug zoo: real Raft bugs, each the correct core with one rule changed.

Every class here is `RaftCore` with one small method overridden, named after the bug, so the
diff against the correct rule *is* the bug. Each docstring says what is wrong, where the
mistake is known from (the Raft paper, the Raft students' guide, production systems), and
which property catches it. The numbers (the bounds each bug needs, the length of its
shortest counterexample, the pinned fuzzing seed) live in the catalogue, `model/zoo.py`;
`raftcheck break --show NAME` prints the shortest counterexample, and `tests/zoo/` asserts
every engine still catches every bug. Several are only reachable with crashes, duplicated
or reordered messages: that is what the world's faults are for.

References used below:
  [paper]  Ongaro & Ousterhout, "In Search of an Understandable Consensus Algorithm" (2014).
  [guide]  Gjengset, "Students' Guide to Raft" (2016), the MIT 6.824 companion.
  [thesis] Ongaro, "Consensus: Bridging Theory and Practice" (2014).
"""

from __future__ import annotations

from raftcheck.impl.raft import RaftCore
from raftcheck.impl.types import (
    AppendEntries,
    AppendEntriesResponse,
    CandidateState,
    Entry,
    Message,
    Node,
    Persistent,
    RequestVoteResponse,
    Role,
)

# ------------------------------------------------------------------------------ elections


class VoteWithoutUpToDateCheck(RaftCore):
    """Grants votes without §5.4.1's "at least as up-to-date" check, so a candidate missing
    committed entries can win and overwrite them. The restriction is what the paper's §5.4.3
    safety argument rests on [paper §5.4.1]. Caught by Leader Completeness."""

    name = "vote-without-up-to-date-check"

    def log_is_up_to_date(self, last_log_term: int, last_log_index: int, voter: Node) -> bool:
        return True


class UpToDateByLengthOnly(RaftCore):
    """Compares logs by length alone, ignoring the last entry's term: a long log of stale
    entries from a deposed leader "wins" against a shorter log holding a newer committed
    entry. §5.4.1 compares last terms first and lengths only on a tie [paper §5.4.1]; the
    length-only reading is a classic course-implementation slip. Caught by Leader
    Completeness."""

    name = "up-to-date-by-length-only"

    def log_is_up_to_date(self, last_log_term: int, last_log_index: int, voter: Node) -> bool:
        return last_log_index >= voter.last_log_index


class TwoVotesPerTerm(RaftCore):
    """Forgets that it already voted in this term (voted_for ignored), so two candidates can
    both collect a majority in one term [paper §5.2: "at most one candidate in a given term"].
    Caught by Single Vote Per Term at the second vote; Election Safety breaks when both
    candidates win with it."""

    name = "two-votes-per-term"

    def may_vote_for(self, node: Node, candidate_id: int) -> bool:
        return True


class CountDuplicateVotes(RaftCore):
    """Tallies votes with a counter of granted responses instead of the set of voters, so a
    duplicated (retransmitted) "yes" counts twice and a candidate "wins" with a minority. In
    a cluster of four, two such candidates win the same term. §5.2 counts votes "from a
    majority of the servers"; etcd keeps a map voter -> vote for this reason [paper §5.2].
    Only reachable with duplication, and only with four or more servers (in three, one vote
    besides its own is already a majority). Caught by Elected By Majority (one vote
    response duplicated). Election Safety itself breaks only when two such candidates win one
    term."""

    name = "count-duplicate-votes"

    def record_vote(self, candidate: CandidateState, voter: int) -> CandidateState:
        return CandidateState(candidate.votes_granted | {voter}, candidate.responses + 1)

    def votes_counted(self, candidate: CandidateState) -> int:
        return 1 + candidate.responses  # its own vote, plus every "yes" received


class NoStepDownOnHigherTerm(RaftCore):
    """Adopts a higher term it hears of but keeps its role: a leader (or candidate) that
    learns of term T > its own carries on leading in term T, beside the server actually
    elected in T. Figure 2, All Servers: "set currentTerm = T, convert to follower" [paper
    §5.1]. Caught by Elected By Majority (the leader of term 1 hears a term-2 RequestVote and
    leads term 2 with nobody's vote); Election Safety breaks when term 2's elected leader
    appears beside it."""

    name = "no-step-down-on-higher-term"

    def on_higher_term(self, node: Node, term: int) -> Node:
        if node.role is Role.FOLLOWER:
            return super().on_higher_term(node, term)
        persistent = Persistent(term, None, node.log)
        return Node(node.id, node.cluster_size, node.role, persistent, node.volatile,
                    node.candidate, node.leader)


class QuorumOffByOne(RaftCore):
    """Counts `n // 2` as a majority instead of `n // 2 + 1`: in a cluster of three, one
    server alone elects itself and commits alone, so two "majorities" need not intersect
    [paper §5.2]. Caught by Elected By Majority (a server times out and wins alone). Election
    Safety breaks next, when a second server does the same in that term."""

    name = "quorum-off-by-one"

    def quorum(self, cluster_size: int) -> int:
        return cluster_size // 2


# ------------------------------------------------------------------------------ persistence


class VotedForNotPersisted(RaftCore):
    """Writes the term and the log to stable storage but not the vote, so a server that
    crashes after voting restarts with no vote in the same term and votes again. Figure 2
    lists votedFor as persistent state; etcd keeps it in HardState.Vote and hashicorp/raft
    in LastVoteCand for exactly this reason [paper Fig. 2]. Only reachable with a crash.
    Caught by Single Vote Per Term the moment the vote is lost (time out, crash);
    Election Safety once a second candidate collects it."""

    name = "voted-for-not-persisted"

    def to_persist(self, before: Persistent, after: Persistent) -> Persistent | None:
        written = super().to_persist(before, after)
        return None if written is None else Persistent(written.current_term, None, written.log)


class CurrentTermNotPersisted(RaftCore):
    """Writes the vote and the log but not currentTerm; after a crash the term is recovered
    from the last log entry, the only place it survives. The restarted server has forgotten
    the terms it saw and the vote's term, so it votes again in a term it already voted in
    [paper Fig. 2: currentTerm is persistent state; etcd HardState.Term]. Only reachable
    with a crash. Caught by Term Monotonicity when the term goes back (time out, crash);
    Election Safety once it votes again in a term it already voted in."""

    name = "current-term-not-persisted"

    def to_persist(self, before: Persistent, after: Persistent) -> Persistent | None:
        written = super().to_persist(before, after)
        if written is None:
            return None
        recovered = written.log[-1].term if written.log else 0
        return Persistent(recovered, written.voted_for, written.log)


# ------------------------------------------------------------------------------ replication


class AppendWithoutConsistencyCheck(RaftCore):
    """Follower accepts AppendEntries without the prev_log_index/prev_log_term consistency
    check: entries meant for index k land wherever its log happens to end, and it
    acknowledges a match it does not have [paper §5.3]. Caught by Commit Within Log (and Log
    Matching on longer traces)."""

    name = "append-without-consistency-check"

    def log_matches(self, node: Node, prev_log_index: int, prev_log_term: int) -> bool:
        return True


class TruncateOnStaleAppend(RaftCore):
    """Replaces everything after prev_log_index with the request's entries, conflict or not.
    A duplicated or reordered AppendEntries that carries fewer entries than the follower
    already holds then deletes entries, committed ones included. The guide: "if the follower
    has all the entries the leader sent, the follower MUST NOT truncate its log" [guide;
    paper §5.3 rule 3]. Only reachable with a duplicated or reordered request. Caught by
    Committed Entries Kept (the follower deletes an entry it knows is committed; State Machine
    Safety breaks at the same step)."""

    name = "truncate-on-stale-append"

    def merge_entries(
        self, log: tuple[Entry, ...], prev_log_index: int, entries: tuple[Entry, ...]
    ) -> tuple[Entry, ...]:
        return log[:prev_log_index] + entries


class CommitToLeaderCommit(RaftCore):
    """Follower sets commitIndex = leaderCommit instead of min(leaderCommit, index of last new
    entry): a heartbeat that checked only a prefix makes it commit whatever it holds beyond
    it, entries the leader never had included. The guide singles out "index of last *new*
    entry" rather than the last log index [paper Fig. 2 AppendEntries rule 5; guide]. Only
    observable when AppendEntries carries part of the suffix (here one entry per message, as
    in raft.tla): a whole-suffix request always has leaderCommit <= its last new entry.
    Caught by Commit Within Log."""

    name = "commit-to-leader-commit"
    max_entries_per_append = 1  # batched replication, where the rule matters (see RaftCore)

    def follower_commit_index(self, node: Node, leader_commit: int, last_new: int) -> int:
        return max(node.commit_index, leader_commit)


class AckBeyondRequest(RaftCore):
    """Follower acknowledges its whole log (last_log_index) rather than what the request
    checked (prev_log_index + len(entries)): stale entries past the checked prefix are
    reported as matching, and the leader counts them toward a commit. etcd answers with
    `lastnewi`, the last index the request verified, for this reason [paper §5.3]. Caught by
    Leader Completeness."""

    name = "ack-beyond-request"

    def acknowledged_index(self, node: Node, request: AppendEntries) -> int:
        return node.last_log_index


class MatchIndexFromLeaderLog(RaftCore):
    """Leader sets matchIndex from its own log length when a follower reports success,
    instead of from the request that was answered; a response to an older, shorter request
    then claims entries the follower never received, and they are committed without a
    majority. The guide: set matchIndex "to prevLogIndex + len(entries[]) from the arguments
    you sent in the RPC originally" [guide; paper Fig. 2]. Caught by Leader Completeness."""

    name = "match-index-from-leader-log"

    def matched_index(self, node: Node, response: AppendEntriesResponse) -> int:
        return node.last_log_index


class AcceptStaleTermAppend(RaftCore):
    """Accepts AppendEntries from an older term: a deposed leader that has not heard of the
    new term keeps overwriting followers of the new leader. Figure 2, AppendEntries rule 1:
    "Reply false if term < currentTerm" [paper §5.1]. Needs the deposed leader's request to
    stay in flight while the new leader commits an entry: caught by Committed Entries Kept
    when the stale request reaches the new leader, which steps down and overwrites it (State
    Machine Safety breaks one step later, when another server applies the stale entry). The
    deepest BFS in the zoo: the stale request must stay in flight among many others."""

    name = "accept-stale-term-append"

    def is_stale(self, node: Node, message: Message) -> bool:
        if type(message) is AppendEntries:
            return False
        return super().is_stale(node, message)


class ActOnStaleResponses(RaftCore):
    """No stale-response check: acts on RequestVoteResponses and AppendEntriesResponses from
    an older term as if they answered this term's requests. A "yes" from an election this
    candidate already timed out of elects it in its next term without a majority there; a
    success that answered what it sent as leader of an earlier term raises matchIndex over
    entries its log no longer has. The guide's "term confusion": "compare the current term
    with the term you sent in your original RPC. If the two are different, drop the reply"
    [guide; paper §5.1]. Caught by Elected By Majority (a term-1 "yes" elects its candidate
    in term 2); Election Safety breaks a few steps later, once term 2 has a second leader."""

    name = "act-on-stale-responses"

    def is_stale(self, node: Node, message: Message) -> bool:
        if type(message) in (RequestVoteResponse, AppendEntriesResponse):
            return False
        return super().is_stale(node, message)


class CommitPreviousTermByCounting(RaftCore):
    """Commits an entry from an earlier term as soon as it is stored on a majority: the exact
    mistake the paper's Figure 8 warns against [paper §5.4.2]. A later leader that never had
    the entry can be elected and overwrite it. Caught by Leader Completeness; the shortest
    counterexample needs three leaders."""

    name = "commit-previous-term-by-counting"

    def may_commit(self, node: Node, index: int) -> bool:
        return True


ZOO: tuple[RaftCore, ...] = (
    VoteWithoutUpToDateCheck(),
    UpToDateByLengthOnly(),
    TwoVotesPerTerm(),
    VotedForNotPersisted(),
    CurrentTermNotPersisted(),
    CommitPreviousTermByCounting(),
    TruncateOnStaleAppend(),
    AppendWithoutConsistencyCheck(),
    CommitToLeaderCommit(),
    MatchIndexFromLeaderLog(),
    AckBeyondRequest(),
    AcceptStaleTermAppend(),
    ActOnStaleResponses(),
    NoStepDownOnHigherTerm(),
    CountDuplicateVotes(),
    QuorumOffByOne(),
)
"""The zoo, in catalogue order (tests/zoo checks `model/zoo.py` lists the same bugs)."""

BROKEN_CORES: dict[str, RaftCore] = {core.name: core for core in ZOO}
