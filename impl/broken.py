"""Deliberately broken cores: proof that the checks can fail.

Each is the correct core with one rule changed, in a few lines, named after the bug. The test
suite asserts that every engine catches each one, by property name, with a readable shrunk
trace. (A larger zoo of real-world Raft bugs builds on the same pattern.)
"""

from __future__ import annotations

from impl.raft import RaftCore
from impl.types import Node


class VoteWithoutUpToDateCheck(RaftCore):
    """Grants votes without §5.4.1's "at least as up-to-date" check, so a candidate missing
    committed entries can win and overwrite them. Caught by Leader Completeness (and, once the
    new leader replicates, State Machine Safety). The restriction is what the paper's §5.4.3
    safety argument rests on."""

    name = "vote-without-up-to-date-check"

    def log_is_up_to_date(self, last_log_term: int, last_log_index: int, voter: Node) -> bool:
        return True


class CommitPreviousTermByCounting(RaftCore):
    """Commits an entry from an earlier term as soon as it is stored on a majority: the exact
    mistake the paper's Figure 8 warns against (§5.4.2). A later leader that never had the
    entry can be elected and overwrite it. Caught by Leader Completeness / State Machine
    Safety; the shortest counterexample needs three leaders."""

    name = "commit-previous-term-by-counting"

    def may_commit(self, node: Node, index: int) -> bool:
        return True


class TwoVotesPerTerm(RaftCore):
    """Forgets that it already voted in this term (voted_for ignored), so two candidates can
    both collect a majority in one term. Caught by Election Safety."""

    name = "two-votes-per-term"

    def may_vote_for(self, node: Node, candidate_id: int) -> bool:
        return True





class QuorumOffByOne(RaftCore):
    """Counts `n // 2` as a majority instead of `n // 2 + 1`: in a cluster of three, one
    server alone elects itself and commits alone, so two "majorities" need not intersect
    (§5.2). Two servers timing out in the same term both win it: caught by Election
    Safety in two steps."""

    name = "quorum-off-by-one"

    def quorum(self, cluster_size: int) -> int:
        return cluster_size // 2


class AppendWithoutConsistencyCheck(RaftCore):
    """Follower accepts AppendEntries without the prev_log_index/prev_log_term consistency
    check (§5.3): entries meant for index k land wherever its log happens to end, and it
    acknowledges a match it does not have. Caught by Log Matching (or, when its
    acknowledgement lets it commit past its own log, Commit Within Log)."""

    name = "append-without-consistency-check"

    def log_matches(self, node: Node, prev_log_index: int, prev_log_term: int) -> bool:
        return True


BROKEN_CORES: dict[str, RaftCore] = {
    core.name: core
    for core in (VoteWithoutUpToDateCheck(), CommitPreviousTermByCounting(), TwoVotesPerTerm(),
                 QuorumOffByOne(), AppendWithoutConsistencyCheck())
}
