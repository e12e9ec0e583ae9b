"""Commit advancement rewritten with a sorted median: once right, once subtly wrong.

The bundled core's leader scans down from its last index for the highest N stored on a
majority (Figure 2: "a majority of matchIndex[i] >= N"). The same N is an order statistic:
sort matchIndex ascending and take element `cluster_size - quorum`; at least `quorum` values
sit at or above it. Log terms never decrease along a log, so if that N is not of the current
term no lower index is either, and the §5.4.2 current-term rule needs checking at N only.

`MedianCommit` is that refactor, and `raftcheck diff raft raftcheck.impl.refactors:MEDIAN_COMMIT
--compare state` finds no divergence. `MedianCommitOffByOne` takes element `quorum` instead of
`cluster_size - quorum`, a slip that reads naturally ("the quorum-th one"): in a 3-node cluster
that is the *largest* matchIndex, the leader's own, so a leader commits an entry no follower
has. `diff` catches it at every level: the commit index differs four steps in (`state`,
`messages`), and a later leader without the entry breaks Leader Completeness (`properties`).
"""

from __future__ import annotations

from attrs import evolve

from raftcheck.impl.raft import RaftCore
from raftcheck.impl.types import Node


class MedianCommit(RaftCore):
    """Commit index as the majority order statistic of matchIndex (a correct refactor)."""

    name = "median-commit"

    def majority_index(self, node: Node) -> int:
        assert node.leader is not None
        ranked = sorted(node.leader.match_index)
        return ranked[node.cluster_size - self.quorum(node.cluster_size)]

    def advance_commit_index(self, node: Node) -> Node:
        index = min(self.majority_index(node), node.last_log_index)
        if index <= node.commit_index or not self.may_commit(node, index):
            return node
        return self.apply_committed(evolve(node, volatile=evolve(node.volatile,
                                                                  commit_index=index)))


class MedianCommitOffByOne(MedianCommit):
    """The same refactor with the wrong element: `ranked[quorum]`, the leader's own index in a
    3-node cluster. Unsafe: commits entries stored on a minority."""

    name = "median-commit-off-by-one"

    def majority_index(self, node: Node) -> int:
        assert node.leader is not None
        ranked = sorted(node.leader.match_index)
        return ranked[min(self.quorum(node.cluster_size), node.cluster_size - 1)]
