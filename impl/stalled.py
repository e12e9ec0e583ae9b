"""The liveness zoo: cores that never break safety but stop making progress.

Like `impl.broken`, every class is `RaftCore` with one rule method overridden, so the diff
against the correct rule *is* the bug. None of them violates a safety property: each one's
cluster stops electing leaders, stops applying what clients asked for, or keeps replacing
a leader that did nothing wrong. The progress properties (properties/progress.py) catch
them, over the stabilisation phase the Hypothesis engine runs after each run in the timed
world (model/liveness.py). Their facts (which property catches each, a pinned seed and run
budget) live in `model/zoo.py` (`LIVENESS_BUGS`); docs/liveness.md has the measured table.

References:
  [paper]  Ongaro & Ousterhout, "In Search of an Understandable Consensus Algorithm" (2014).
  [guide]  Gjengset, "Students' Guide to Raft" (2016), the MIT 6.824 companion.
  [thesis] Ongaro, "Consensus: Bridging Theory and Practice" (2014).
"""

from __future__ import annotations

from attrs import evolve

from raftcheck.impl.raft import Out, RaftCore
from raftcheck.impl.types import (
    AppendEntriesResponse,
    Effects,
    LeaderState,
    Node,
    Role,
)


class NoIdleHeartbeats(RaftCore):
    """A leader sends AppendEntries only to followers it has entries for, and nothing when
    idle. Figure 2 asks for heartbeats "during idle periods to prevent election timeouts":
    without them the followers time out and depose a leader that did nothing wrong, again
    and again [paper Figure 2, §5.2]. Each new leader still commits and applies, so the
    requests get through; caught by Leader Stable."""

    name = "no-idle-heartbeats"

    def on_heartbeat_timeout(self, node: Node) -> Out:
        if node.role is not Role.LEADER or node.leader is None:
            return node, Effects()
        behind = tuple(self.append_entries_to(node, peer) for peer in node.peers()
                       if peer != node.id and node.leader.next_index[peer] <= node.last_log_index)
        return node, Effects(messages=behind)


class EmptyHeartbeats(RaftCore):
    """Heartbeats are empty AppendEntries anchored at nextIndex - 1: entries go out only when
    a rejection makes the leader retry. A follower whose log matches so far accepts each
    heartbeat and never receives the entries after it. The guide warns against treating
    heartbeats as special: they are AppendEntries like any other [guide, "heartbeats"].
    Caught by Request Applied."""

    name = "empty-heartbeats"

    def on_heartbeat_timeout(self, node: Node) -> Out:
        if node.role is not Role.LEADER:
            return node, Effects()
        return node, Effects(messages=tuple(
            evolve(self.append_entries_to(node, peer), entries=())
            for peer in node.peers() if peer != node.id))


class NeverDecrementNextIndex(RaftCore):
    """On a rejected AppendEntries the leader retries from the same nextIndex instead of
    backing off, so a follower missing entries is sent the same request, and rejects it, for
    ever ("decrement nextIndex and retry", Figure 2) [paper §5.3]. Caught by Request Applied
    (the retries run without end while the clock stands still)."""

    name = "never-decrement-next-index"

    def next_index_after_rejection(self, leader: LeaderState,
                                   response: AppendEntriesResponse) -> int:
        return leader.next_index[response.source]


class IgnoreLeaderCommit(RaftCore):
    """A follower never advances its commit index from the leader's (AppendEntries rule 5,
    "If leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of last new
    entry)", left out), so only leaders apply entries [paper Figure 2]. Safe, and a follower
    state machine that never moves. Caught by Request Applied."""

    name = "ignore-leader-commit"

    def follower_commit_index(self, node: Node, leader_commit: int, last_new: int) -> int:
        return node.commit_index


class StrictlyMoreUpToDate(RaftCore):
    """Grants a vote only to a candidate whose log is *strictly* more up-to-date than the
    voter's (`>` for `>=` on equal last terms): servers with equal logs, as every server's is
    at the start, never vote for each other, and no election is ever won [paper §5.4.1: "at
    least as up-to-date"]. Safe: it only refuses more. Caught by Leader Elected."""

    name = "strictly-more-up-to-date"

    def log_is_up_to_date(self, last_log_term: int, last_log_index: int, voter: Node) -> bool:
        if last_log_term != voter.last_log_term:
            return last_log_term > voter.last_log_term
        return last_log_index > voter.last_log_index


class StepDownOnRejectedAppend(RaftCore):
    """A leader steps down whenever a follower rejects an AppendEntries, whatever the reason,
    confusing a failed consistency check (the follower is behind) with a higher term. The
    leader should step down only for a higher term and otherwise back off and retry [paper
    Figure 2, §5.3]. Each new leader meets the lagging follower's rejection in turn. Caught
    by Leader Elected."""

    name = "step-down-on-rejected-append"

    def handle_append_entries_response(self, node: Node,
                                       response: AppendEntriesResponse) -> Out:
        if (not response.success and not self.is_stale(node, response)
                and node.role is Role.LEADER):
            return evolve(node, role=Role.FOLLOWER, leader=None), Effects()
        return super().handle_append_entries_response(node, response)


class CandidateWaitsForever(RaftCore):
    """A candidate whose election times out keeps waiting for votes instead of starting a new
    election (§5.2: "each candidate restarts its randomized election timeout at the start of
    an election, and it waits for that timeout to elapse before starting the next
    election"). A candidate that lost its votes never tries again. Caught by Leader
    Elected."""

    name = "candidate-waits-forever"

    def on_election_timeout(self, node: Node) -> Out:
        if node.role is Role.CANDIDATE:
            return node, Effects()
        return super().on_election_timeout(node)


LIVENESS_ZOO: tuple[RaftCore, ...] = (
    NoIdleHeartbeats(),
    EmptyHeartbeats(),
    NeverDecrementNextIndex(),
    IgnoreLeaderCommit(),
    StrictlyMoreUpToDate(),
    StepDownOnRejectedAppend(),
    CandidateWaitsForever(),
)
STALLED_CORES: dict[str, RaftCore] = {core.name: core for core in LIVENESS_ZOO}
