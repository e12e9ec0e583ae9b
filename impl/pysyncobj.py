"""PySyncObj's Raft as the library runs it: a pure core, faithful to a release.

`raftcheck fuzz --core pysyncobj` drives the released library itself (model/adapters/); this
module is the same protocol as a step function, so that `raftcheck explore` and `fuzz` can
search it at spec speed and five servers, and so that conformance (the library and this core
in lockstep on the same schedule, `model/adapters/pysyncobj_conformance.py`) keeps the two
honest. It is `RaftCore` with the rules PySyncObj runs differently overridden, one method per
rule; a rule that changed between releases is a method of the release's subclass.

What PySyncObj 0.3.17 (`pysyncobj/syncobj.py`) does, rule by rule, in the view's indices
(library index - 1: every library journal starts with a term-0 no-op of its own at index 1,
which the view and this core leave out):

* **Messages.** `request_vote` is `RequestVote`. `response_vote` is sent only to grant and
  carries the request's term: `RequestVoteResponse(granted=True)`; a refusal is silence.
  `append_entries` is `AppendEntries`; a leader whose `nextIndex` for a peer is past its own
  log sends `prevLogIdx=None`, here `prev_log_index=-1, prev_log_term=-1`.
  `next_node_idx` (the AppendEntries reply) carries no term, only the index the leader should
  send next and two flags, `success` and `reset`, which the library sets as opposites on every
  path exercised here: it is `AppendEntriesResponse(term=0)` with `match_index = next - 1` on
  success, `last_log_index = next - 1` on failure (see `next_node_idx`).
* **Terms.** `request_vote` and `append_entries` of a higher term are adopted (vote cleared,
  follower); `response_vote` counts only in the candidate's current term and is otherwise
  ignored; `next_node_idx` has no term, and a leader acts on it whatever term it answered.
* **Votes.** A server votes only if it has not voted in its term at all (a second
  `request_vote` of the same candidate goes unanswered), is not the leader, and the
  candidate's log is at least as up-to-date (§5.4.1, as the paper). The candidate counts
  `response_vote` messages, not voters: the zoo's `count-duplicate-votes` rule.
* **Election.** A new leader appends a no-op entry of its term (`NOOP`) and sends
  `append_entries` at once, carrying it.
* **Replication.** Every `append_entries` carries the whole suffix from `nextIndex`, and
  sending it moves `nextIndex` past the leader's last entry (optimistically, before any
  reply). A follower whose log matches at `prevLogIdx` deletes everything after it and
  appends the entries, conflict or not: the zoo's `truncate-on-stale-append` rule. It replies
  `next = prevLogIdx + 1 + len(entries)`; on a missing `prevLogIdx` it replies failure with
  its own last index + 1, on a term mismatch failure with `prevLogIdx`. An `append_entries`
  of an older term is ignored, without a reply.
* **nextIndex and matchIndex.** A failure sets `nextIndex` to the reply's index; a success
  raises `matchIndex` (never lowers it) and sets `nextIndex` with it. The leader does not
  resend on failure: the next heartbeat carries the retry.
* **Commit.** The leader commits, as the paper, the highest index stored on a majority whose
  entry is of its term (the library scans upwards and stops at the first index without a
  majority: the same index). A follower that truncated below its commit index lowers it to
  its last index, then raises it to min(leaderCommit, last index).
* **Applying** skips the no-op (it is not a client command).
* **The journal** (`Journal`): log records, term and vote are durable when written; the
  commit index is stored with the term and vote (when they change, the value it had before
  the step) and by the journal's one-second timer (`flush_journal`). A restart takes
  max(stored term, last log term), the stored vote, the stored commit index, and applies
  the log up to it at once.

What it abstracts (docs/pysyncobj.md, "The faithful core"): time (the library's timers are the
world's `Timeout` and `Heartbeat` events; the one-second journal timer is `flush_journal`,
which only conformance calls), the leader's step-down when no majority answered within
`leaderFallbackTimeout`, the client queue (a command is a `ClientRequest` to the leader when
the leader appends it; forwarding `apply_command` between servers is not a core message), the
order of work within one library tick (a response and the tick after it are one step here:
the commit index advances in the step that raised `matchIndex`), and a cluster of one.
"""

from __future__ import annotations

from attrs import evolve

from raftcheck.impl.broken import (
    CommitPreviousTermByCounting,
    CountDuplicateVotes,
    TruncateOnStaleAppend,
)
from raftcheck.impl.raft import Out, RaftCore, _hinted, _replace, _with
from raftcheck.impl.types import (
    AppendEntries,
    AppendEntriesResponse,
    CandidateState,
    ClientRequest,
    Effects,
    Entry,
    Event,
    Journal,
    LeaderState,
    Node,
    Persistent,
    Put,
    RequestVote,
    RequestVoteResponse,
    Role,
    Volatile,
)

NOOP = Put("noop", 0)
"""A leader's election no-op entry, as the view shows it (the library's `_COMMAND_TYPE.NO_OP`)."""

NO_PREV = -1
"""`prev_log_index` and `prev_log_term` of an `append_entries` sent with `prevLogIdx=None`."""


# The zoo's cores whose one rule PySyncObj shares: its methods delegate to them.
_COUNT_RESPONSES = CountDuplicateVotes()
_TRUNCATE_AFTER_PREV = TruncateOnStaleAppend()
_COMMIT_BY_COUNTING = CommitPreviousTermByCounting()


UNMATCHED = -1
"""A new leader's matchIndex for a peer: the library's 0, below even the journal's own first
entry (view index 0), so that the first reply that acknowledges only that entry still raises
matchIndex and sets nextIndex with it."""


def stored_commit(persistent: Persistent) -> int:
    """The commit index a journal stored (0 for state written without one)."""
    return persistent.commit_index if isinstance(persistent, Journal) else 0


def as_journal(persistent: Persistent) -> Journal:
    if isinstance(persistent, Journal):
        return persistent
    return Journal(persistent.current_term, persistent.voted_for, persistent.log)


def next_node_idx(response: AppendEntriesResponse) -> int:
    """The index a `next_node_idx` reply tells the leader to send next (view indices)."""
    return (response.match_index if response.success else response.last_log_index) + 1


class PySyncObjCore(RaftCore):
    """PySyncObj 0.3.17's Raft (the release `constraints.txt` pins): the correct core with
    PySyncObj's rules, each a method below."""

    name = "pysyncobj-0.3.17"
    release = "0.3.17"

    # ------------------------------------------------------------------ zoo rules

    def record_vote(self, candidate: CandidateState, voter: int) -> CandidateState:
        """The candidate counts `response_vote` messages (`__votesCount += 1`), not voters:
        the zoo's count-duplicate-votes rule."""
        return _COUNT_RESPONSES.record_vote(candidate, voter)

    def votes_counted(self, candidate: CandidateState) -> int:
        return _COUNT_RESPONSES.votes_counted(candidate)

    def merge_entries(
        self, log: tuple[Entry, ...], prev_log_index: int, entries: tuple[Entry, ...]
    ) -> tuple[Entry, ...]:
        """Everything after prevLogIdx is deleted, then the entries appended: the zoo's
        truncate-on-stale-append rule."""
        return _TRUNCATE_AFTER_PREV.merge_entries(log, prev_log_index, entries)

    # ------------------------------------------------------------------ life cycle

    def initial_node(self, node_id: int, cluster_size: int) -> Node:
        return Node(id=node_id, cluster_size=cluster_size, persistent=Journal())

    def restart(self, node_id: int, cluster_size: int, persistent: Persistent) -> Node:
        """`SyncObj.__init__` on an existing journal, then the tick the adapter runs after
        it: the recovered term and vote (`recovered`), commit index = the stored one, and
        every entry up to it applied again to a fresh state machine."""
        journal = self.recovered(persistent)
        node = Node(id=node_id, cluster_size=cluster_size, persistent=journal,
                    volatile=Volatile(commit_index=journal.commit_index))
        return self.apply_committed(node)

    def recovered(self, disk: Persistent) -> Journal:
        """0.3.17 reads term and vote back, the term at least the last log entry's."""
        last_term = disk.log[-1].term if disk.log else 0
        return Journal(max(disk.current_term, last_term), disk.voted_for, disk.log,
                       stored_commit(disk))

    # ------------------------------------------------------------------ dispatch

    def step(self, node: Node, event: Event) -> Out:
        """`RaftCore.step` (term rules, then the handler), then the journal: what this step
        stores (`journal_after`) and writes (`on_disk`)."""
        if type(event) is RequestVoteResponse and event.term != node.current_term:
            return node, Effects()  # counted only in its own term; never adopts a term
        after, effects = super().step(node, event)
        journal = self.journal_after(node, after.persistent)
        if journal is not after.persistent:
            after = _with(after, persistent=journal)
        written = self.on_disk(journal)
        if written != self.on_disk(as_journal(node.persistent)):
            effects = evolve(effects, persist=written)
        return after, effects

    def to_persist(self, before: Persistent, after: Persistent) -> Persistent | None:
        return None  # `step` writes the journal (`on_disk`)

    def journal_after(self, before: Node, after: Persistent) -> Journal:
        """The journal after a step: the new term, vote and log, and the stored commit
        index, which 0.3.17 stores with the term and vote (`setCurrentTerm` stores every
        field of FileJournal's metadata) when they change, as it was before the step."""
        previous = before.persistent
        stored = stored_commit(previous)
        if (after.current_term, after.voted_for) != (previous.current_term,
                                                     previous.voted_for):
            stored = self.commit_stored_with_term(before, stored)
        if isinstance(after, Journal) and after.commit_index == stored:
            return after
        return Journal(after.current_term, after.voted_for, after.log, stored)

    def commit_stored_with_term(self, before: Node, stored: int) -> int:
        """0.3.17: a term or vote change stores the commit index the node had."""
        return before.commit_index

    def on_disk(self, journal: Journal) -> Journal:
        """What the journal writes to disk: all of it in 0.3.17."""
        return journal

    def flush_journal(self, node: Node) -> tuple[Node, Journal]:
        """The journal's one-second timer (`onOneSecondTimer`): the commit index is stored.
        A world event the untimed world does not have; conformance calls it when the
        library's timer fired. Returns the node and what its disk holds now."""
        journal = self.journal_after(node, node.persistent)
        if journal.commit_index != node.commit_index:
            journal = evolve(journal, commit_index=node.commit_index)
            node = _with(node, persistent=journal)
        return node, self.on_disk(journal)

    # ------------------------------------------------------------------ votes

    def may_vote_for(self, node: Node, candidate_id: int) -> bool:
        """PySyncObj votes only if it has not voted in this term, even for the same
        candidate: a repeated `request_vote` goes unanswered."""
        return node.voted_for is None

    def handle_request_vote(self, node: Node, request: RequestVote) -> Out:
        """Grant (and reply) or stay silent: PySyncObj has no refusal message."""
        if (request.term < node.current_term or node.role is Role.LEADER
                or not self.log_is_up_to_date(request.last_log_term, request.last_log_index,
                                              node)
                or not self.may_vote_for(node, request.candidate_id)):
            return node, Effects()
        node = _with(node, persistent=Persistent(node.current_term, request.candidate_id,
                                                 node.log))
        reply = RequestVoteResponse(node.id, request.source, request.term, True)
        return node, Effects(messages=(reply,), reset_election_timer=True)

    # ------------------------------------------------------------------ leading

    def become_leader(self, node: Node) -> Out:
        """`__onBecomeLeader`: nextIndex just past the log, matchIndex `UNMATCHED`, then
        the no-op entry of the new term, then `append_entries` to every peer (carrying the
        no-op)."""
        last = node.last_log_index
        log = (*node.log, Entry(node.current_term, NOOP))
        match = tuple(len(log) if peer == node.id else UNMATCHED for peer in node.peers())
        node = _with(node,
            role=Role.LEADER,
            persistent=Persistent(node.current_term, node.voted_for, log),
            volatile=_hinted(node.volatile, node.id),
            candidate=None,
            leader=LeaderState(next_index=(last + 1,) * node.cluster_size, match_index=match),
        )
        node = self.advance_commit_index(node)
        return self.send_append_entries(node)

    def on_heartbeat_timeout(self, node: Node) -> Out:
        """`appendEntriesPeriod` elapsed: `append_entries` to every peer."""
        if node.role is not Role.LEADER:
            return node, Effects()
        return self.send_append_entries(node)

    def send_append_entries(self, node: Node) -> Out:
        """`__sendAppendEntries`: to each peer, everything from its nextIndex on, and
        nextIndex moves past the last entry sent."""
        assert node.leader is not None
        next_index = node.leader.next_index
        messages = []
        for peer in node.peers():
            if peer == node.id:
                continue
            message = self.append_entries_to(node, peer)
            messages.append(message)
            if message.entries:
                next_index = _replace(next_index, peer, node.last_log_index + 1)
        if next_index != node.leader.next_index:
            node = _with(node, leader=evolve(node.leader, next_index=next_index))
        return node, Effects(messages=tuple(messages))

    def append_entries_to(self, node: Node, peer: int) -> AppendEntries:
        """From nextIndex on; `prevLogIdx=None` (`NO_PREV`) when nextIndex is past the log
        (a reply can set it there)."""
        assert node.leader is not None
        prev = node.leader.next_index[peer] - 1
        if prev > node.last_log_index:
            return AppendEntries(node.id, peer, node.current_term, NO_PREV, NO_PREV, (),
                                 node.commit_index)
        prev_term = node.log[prev - 1].term if prev > 0 else 0
        return AppendEntries(node.id, peer, node.current_term, prev, prev_term,
                             node.log[prev:], node.commit_index)

    def on_client_request(self, node: Node, request: ClientRequest) -> Out:
        """The leader appends the command (it is sent with the next heartbeat); elsewhere
        the library forwards or queues it, which changes no Raft state."""
        if node.role is not Role.LEADER:
            return node, Effects()
        return super().on_client_request(node, request)

    # ------------------------------------------------------------------ following

    def handle_append_entries(self, node: Node, request: AppendEntries) -> Out:
        """`append_entries` of this term or a newer one (the term rule ran first); an older
        one is ignored, without a reply."""
        if self.is_stale(node, request):
            return node, Effects()
        node = _with(node, role=Role.FOLLOWER, volatile=_hinted(node.volatile, request.source),
                     candidate=None, leader=None)
        prev = request.prev_log_index
        if prev < 0 or prev > node.last_log_index:  # no entry at prevLogIdx
            return node, self._reply(node, request, False, node.last_log_index + 1)
        if prev > 0 and node.log[prev - 1].term != request.prev_log_term:
            return node, self._reply(node, request, False, prev)
        log = self.merge_entries(node.log, prev, request.entries)
        if log != node.log:
            node = _with(node, persistent=Persistent(node.current_term, node.voted_for, log))
        commit = self.follower_commit_index(node, request.leader_commit, node.last_log_index)
        if commit != node.commit_index:
            node = _with(node, volatile=evolve(node.volatile, commit_index=commit))
        node = self.apply_committed(node)
        return node, self._reply(node, request, True,
                                 self.acknowledged_index(node, request) + 1)

    def follower_commit_index(self, node: Node, leader_commit: int, last_new: int) -> int:
        """0.3.17: a commit index past the log (after a truncation) comes down to the last
        index; then it rises to min(leaderCommit, last index), never falls."""
        commit = min(node.commit_index, node.last_log_index)
        return min(leader_commit, last_new) if leader_commit > commit else commit

    def _reply(self, node: Node, request: AppendEntries, success: bool,
               next_index: int) -> Effects:
        """`__sendNextNodeIdx`: `next_node_idx`, with no term (see `next_node_idx`)."""
        reply = AppendEntriesResponse(node.id, request.source, 0, success,
                                      next_index - 1 if success else 0,
                                      0 if success else next_index - 1)
        return Effects(messages=(reply,), reset_election_timer=True)

    def handle_append_entries_response(self, node: Node, response: AppendEntriesResponse) -> Out:
        """A leader, of whatever term, takes the reply: a failure sets nextIndex, a success
        raises matchIndex (`raise_match`); the commit index follows."""
        if node.role is not Role.LEADER:
            return node, Effects()
        leader = node.leader
        assert leader is not None
        peer = response.source
        next_index, match_index = leader.next_index, leader.match_index
        if response.success:
            next_index, match_index = self.raise_match(leader, peer, next_node_idx(response))
        else:
            next_index = _replace(next_index, peer, next_node_idx(response))
        node = _with(node, leader=LeaderState(next_index, match_index))
        return self.advance_commit_index(node), Effects()

    def raise_match(self, leader: LeaderState, peer: int,
                    next_index: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """0.3.17: matchIndex = next - 1 and nextIndex = next, if that raises matchIndex."""
        if leader.match_index[peer] >= next_index - 1:
            return leader.next_index, leader.match_index
        return (_replace(leader.next_index, peer, next_index),
                _replace(leader.match_index, peer, next_index - 1))

    # ------------------------------------------------------------------ applying

    def apply_committed(self, node: Node) -> Node:
        """`__applyLogEntries`: up to the commit index (or the log's end), in order; the
        no-op changes nothing. lastApplied never comes down, even when the log does."""
        volatile = node.volatile
        upto = min(volatile.commit_index, node.last_log_index)
        if upto <= volatile.last_applied:
            return node
        kv = dict(volatile.state_machine)
        for entry in node.log[volatile.last_applied: upto]:
            if entry.command != NOOP:
                kv[entry.command.key] = entry.command.value
        return _with(node, volatile=evolve(volatile, last_applied=upto,
                                           state_machine=tuple(sorted(kv.items()))))


class PySyncObj0312(PySyncObjCore):
    """PySyncObj 0.3.12 (and 0.3.13-0.3.15, `SAME_RULES`): the journal stores no term and no
    vote. A restarted server starts at term 0 with no vote, so it can vote again in a term it
    voted in; the commit index is stored only by the one-second timer."""

    name = "pysyncobj-0.3.12"
    release = "0.3.12"

    def recovered(self, disk: Persistent) -> Journal:
        return Journal(0, None, disk.log, stored_commit(disk))

    def commit_stored_with_term(self, before: Node, stored: int) -> int:
        return stored  # nothing is stored with a term change: there is no such write

    def on_disk(self, journal: Journal) -> Journal:
        return Journal(0, None, journal.log, journal.commit_index)

    def follower_commit_index(self, node: Node, leader_commit: int, last_new: int) -> int:
        """Raised to min(leaderCommit, last index), never lowered, even past a truncation."""
        if leader_commit > node.commit_index:
            return min(leader_commit, last_new)
        return node.commit_index


class PySyncObj0311(PySyncObj0312):
    """PySyncObj 0.3.11: as 0.3.12, and a follower sets its commit index to
    min(leaderCommit, last index) even when that lowers it (a reordered heartbeat lowers a
    commit index), acknowledges one entry less than it appended, a leader sets matchIndex
    from any success (lowering it too) and commits entries of earlier terms by counting
    (the paper's Figure 8)."""

    name = "pysyncobj-0.3.11"
    release = "0.3.11"

    def may_commit(self, node: Node, index: int) -> bool:
        """Any entry stored on a majority: the zoo's commit-previous-term-by-counting."""
        return _COMMIT_BY_COUNTING.may_commit(node, index)

    def follower_commit_index(self, node: Node, leader_commit: int, last_new: int) -> int:
        return min(leader_commit, last_new)

    def acknowledged_index(self, node: Node, request: AppendEntries) -> int:
        """`nextNodeIdx = newEntries[-1][1]`: the last new entry's index, not one past it."""
        if request.entries:
            return request.prev_log_index + len(request.entries) - 1
        return request.prev_log_index

    def raise_match(self, leader: LeaderState, peer: int,
                    next_index: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return leader.next_index, _replace(leader.match_index, peer, next_index - 1)


FAITHFUL: tuple[PySyncObjCore, ...] = (PySyncObjCore(), PySyncObj0312(), PySyncObj0311())
"""The faithful cores, one per release whose rules differ, newest first."""

SAME_RULES: dict[str, str] = {
    # 0.3.8-0.3.10: one syncobj.py; 0.3.11 adds only the `hasQuorum` status property.
    "0.3.8": "0.3.11", "0.3.9": "0.3.11", "0.3.10": "0.3.11",
    # 0.3.13: logging through a module logger, two thread helpers; 0.3.14: the tick thread
    # survives an exception; 0.3.15: a stale `apply_command_response` fails its callback
    # instead of asserting (client forwarding, not a core message). The journal unchanged.
    "0.3.13": "0.3.12", "0.3.14": "0.3.12", "0.3.15": "0.3.12",
    # 0.3.17: syncobj.py and journal.py as 0.3.16's (which brought the stored term and vote).
    "0.3.16": "0.3.17",
}
"""Each release without a faithful core of its own, and the release whose core has its rules
(read from the diff of the release's `pysyncobj/` against its neighbours'; conformance
against the release installed, `benchmarks/pysyncobj_matrix.py`, checks each)."""

RELEASES: dict[str, PySyncObjCore] = {core.release: core for core in FAITHFUL}
RELEASES.update({release: RELEASES[rules] for release, rules in SAME_RULES.items()})
"""Every release from 0.3.8 on, to its faithful core."""
FAITHFUL_CORES: dict[str, PySyncObjCore] = {core.name: core for core in FAITHFUL}
