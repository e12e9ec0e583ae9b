"""A legitimate refactor that changes messages: faster log backtracking with conflict terms.

The Raft paper, end of §5.3: "when rejecting an AppendEntries request, the follower can include
the term of the conflicting entry and the first index it stores for that term. With this
information, the leader can decrement nextIndex to bypass all of the conflicting entries in
that term; one AppendEntries RPC will be required for each term with conflicting entries,
rather than one RPC per entry."

Follower: a rejection on a conflicting entry carries its term (`conflict_term`, a field with a
default of 0, so every other core is unaffected) and hints (`last_log_index`, "the longest
prefix we could share") just before the first entry of that term. Leader: if its own log holds
entries of the conflicting term, it retries just after the last of them (the Raft students'
guide's refinement), otherwise at the follower's hint. The bundled leader then moves next_index
there in one step, never below match_index + 1 and always by at least one.

What `raftcheck diff raft raftcheck.impl.refactors:CONFLICT_TERM` says: equivalent at `--compare
properties` (backing off further or differently is safe: the consistency check still guards
every append), divergent at `--compare messages` at the first rejection on a conflicting
entry (`conflict_term` is set), and at `--compare state` once the leader's next_index differs.
"""

from __future__ import annotations

from attrs import evolve

from raftcheck.impl.raft import Out, RaftCore
from raftcheck.impl.types import AppendEntries, AppendEntriesResponse, Node, Role


class ConflictTermBacktracking(RaftCore):
    """Rejections name the conflicting term and its first index; leaders skip the term."""

    name = "conflict-term-backtracking"

    def rejection_hint(self, node: Node, prev_log_index: int) -> int:
        if prev_log_index > node.last_log_index:  # nothing at prev: the log is too short
            return node.last_log_index
        conflict_term = node.log[prev_log_index - 1].term
        first = prev_log_index
        while first > 1 and node.log[first - 2].term == conflict_term:
            first -= 1
        return first - 1  # everything before the conflicting term may still match

    def handle_append_entries(self, node: Node, request: AppendEntries) -> Out:
        node, effects = super().handle_append_entries(node, request)
        reply = effects.messages[0]  # the bundled handler always answers exactly once
        assert isinstance(reply, AppendEntriesResponse)
        prev = request.prev_log_index
        if not reply.success and request.term == node.current_term and \
                0 < prev <= node.last_log_index:  # a real conflict, not a stale leader
            reply = evolve(reply, conflict_term=node.log[prev - 1].term)
            effects = evolve(effects, messages=(reply,))
        return node, effects

    def handle_append_entries_response(self, node: Node, response: AppendEntriesResponse
                                       ) -> Out:
        if not response.success and response.conflict_term and node.role is Role.LEADER:
            last_of_term = max((index for index, entry in enumerate(node.log, 1)
                                if entry.term == response.conflict_term), default=0)
            if last_of_term:  # the leader has the term: resume just after its last entry
                response = evolve(response, last_log_index=last_of_term)
        return super().handle_append_entries_response(node, response)
