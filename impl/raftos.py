"""raftos's Raft as the library runs it: a pure core, faithful to release 0.2.6.

`raftcheck fuzz --core raftos` drives the released library itself (model/adapters/); this
module is the same protocol as a step function, so that `raftcheck explore` and `fuzz` can
search it at spec speed, and so that conformance (the library and this core in lockstep on the
same schedule, `model/adapters/raftos_conformance.py`) keeps the two honest. It is `RaftCore`
with the rules raftos runs differently overridden, one method per rule, each naming the
function of `raftos/state.py` it mirrors. Indices are the library's (1-based, as the view's).

* **Messages.** `request_vote` is `RequestVote`; `request_vote_response` is
  `RequestVoteResponse` (a missing `vote_granted`, as in `validate_term`'s refusal, is a
  refusal); `append_entries` is `AppendEntries` (at most one entry); a follower's
  `append_entries_response` is `AppendEntriesResponse` with `match_index = last_log_index =`
  its `last_log_index` on success and 0 on failure, and `validate_term`'s refusal, which has
  no `request_id` and no `last_log_index`, has `last_log_index = REFUSED`. The `request_id`
  of `append_entries` and its answers only feeds the leader's step-down timer, which the core
  leaves out.
* **The state object answers.** `validate_term` adopts a higher term and turns a candidate or
  leader into a follower, but the handler that then runs is the one of the role the message
  arrived in (`receive`): a candidate or leader that learns a higher term from a request
  answers nothing.
* **The findings** (docs/raftos.md) are the rules `forget_vote` (1), `is_stale` (2),
  `merge_entries` (3), `record_vote` (4) and `quorum` (5): `is_majority(count)` is
  `count > cluster_count // 2` with `cluster_count` the number of *peers*, a majority in a
  cluster of odd size, half of it in an even one.
* **Applying** happens only at the start of a follower's `append_entries` handler and of a
  leader's `append_entries_response` handler (`validate_commit_index`), before the term check;
  a commit index raised by a handler is applied on the next such message.

What it abstracts (docs/raftos.md, "The faithful core"): time (the library's timers are the
world's `Timeout` and `Heartbeat` events; the leader's step-down timer is a `Timeout` of a
leader, which the world fires because the core says `leader_timer`), the state machine file
surviving a restart (a restarted node applies again from index 1 on top of the file's old
content; the core's state machine starts empty), clients waiting for an election (a command is
a `ClientRequest` to the node when the leader appends it), the order of peers in a broadcast (a
`set` in the library: `broadcast_stops`), and a cluster of one.
"""

from __future__ import annotations

from attrs import evolve

from raftcheck.impl.broken import ActOnStaleResponses, CountDuplicateVotes, TruncateOnStaleAppend
from raftcheck.impl.raft import Out, RaftCore, _hinted, _replace, _with
from raftcheck.impl.types import (
    MESSAGE_TYPES,
    AppendEntries,
    AppendEntriesResponse,
    CandidateState,
    ClientReply,
    ClientRequest,
    Effects,
    Entry,
    Event,
    LeaderState,
    Message,
    Node,
    Persistent,
    RequestVote,
    RequestVoteResponse,
    Role,
)

REFUSED = -1
"""`last_log_index` of an `append_entries_response` that `validate_term` sent: the refusal of
an `append_entries` of an older term, with no `request_id` and no `last_log_index`."""

_ACT_ON_STALE = ActOnStaleResponses()
_COUNT_RESPONSES = CountDuplicateVotes()
_TRUNCATE_AFTER_PREV = TruncateOnStaleAppend()


class RaftosCore(RaftCore):
    """raftos 0.2.6's Raft (`raftos/state.py`): the correct core with raftos's rules, each a
    method below."""

    name = "raftos-0.2.6"
    release = "0.2.6"
    leader_timer = True  # `Leader.step_down_timer`: the world fires it as a leader's Timeout

    # ------------------------------------------------------------------ findings 1 to 4

    def forget_vote(self, persistent: Persistent) -> Persistent:
        """Finding 1, `Follower.init_storage` (run by `Follower.start`, so by every change to
        follower and every start of a node, restarts included): `voted_for = None`, in the
        same term."""
        if persistent.voted_for is None:
            return persistent
        return Persistent(persistent.current_term, None, persistent.log)

    def is_stale(self, node: Node, message: Message) -> bool:
        """Finding 2, `Candidate.on_receive_request_vote_response` behind `validate_term`: a
        response of an older term is handed to the handler, and any `vote_granted` counts:
        the zoo's act-on-stale-responses rule (`RaftCore.handle_request_vote_response` asks
        it). Requests of an older term are refused in `validate_term`."""
        return _ACT_ON_STALE.is_stale(node, message)

    def merge_entries(
        self, log: tuple[Entry, ...], prev_log_index: int, entries: tuple[Entry, ...]
    ) -> tuple[Entry, ...]:
        """Finding 3, `Follower.on_receive_append_entries`: `erase_from(prev_log_index + 1)`
        when the entry there has another term than the message's *or* the log goes past
        `prev_log_index` (always true when there is an entry there), then the entries are
        appended: everything after `prev_log_index` is replaced, the zoo's
        truncate-on-stale-append rule."""
        return _TRUNCATE_AFTER_PREV.merge_entries(log, prev_log_index, entries)

    def record_vote(self, candidate: CandidateState, voter: int) -> CandidateState:
        """Finding 4, `Candidate.on_receive_request_vote_response`: `vote_count += 1` per
        granting response, not per voter: the zoo's count-duplicate-votes rule."""
        return _COUNT_RESPONSES.record_vote(candidate, voter)

    def votes_counted(self, candidate: CandidateState) -> int:
        return _COUNT_RESPONSES.votes_counted(candidate)

    # ------------------------------------------------------------------ majority

    def quorum(self, cluster_size: int) -> int:
        """Finding 5, `State.is_majority(count)`: `count > cluster_count // 2`, where
        `cluster_count` is the number of peers (the node itself is not in `server.cluster`):
        two of four elect a leader and commit an entry."""
        return (cluster_size - 1) // 2 + 1

    # ------------------------------------------------------------------ life cycle

    def restart(self, node_id: int, cluster_size: int, persistent: Persistent) -> Node:
        """`State.__init__` on the node's files, then `Follower.start`: term and log from the
        files, the vote forgotten (`forget_vote`), commit index and last applied 0."""
        return Node(id=node_id, cluster_size=cluster_size,
                    persistent=self.forget_vote(persistent))

    # ------------------------------------------------------------------ dispatch

    def step(self, node: Node, event: Event) -> Out:
        """Timers and clients as `RaftCore.step`; a message through `receive`, which knows
        the role it arrived in."""
        if type(event) not in MESSAGE_TYPES:
            return super().step(node, event)
        after, effects = self.receive(node, event)  # type: ignore[arg-type]
        persist = self.to_persist(node.persistent, after.persistent)
        if persist is not None:
            effects = evolve(effects, persist=persist)
        return after, effects

    def receive(self, node: Node, message: Message) -> Out:
        """`State.request_handler`: the handler of the role the message arrived in, wrapped
        in `validate_commit_index` (`applies_first`) and `validate_term`."""
        role = node.role
        if self.applies_first(role, message):
            node, ok = self.validate_commit_index(node)
            if not ok:
                return node, Effects()
        node, refusal = self.validate_term(node, message)
        if refusal is not None:
            return node, Effects(messages=(refusal,))
        kind = type(message)
        if role is Role.FOLLOWER:
            if kind is RequestVote:
                return self.handle_request_vote(node, message)  # type: ignore[arg-type]
            if kind is AppendEntries:
                return self.handle_append_entries(node, message)  # type: ignore[arg-type]
        elif role is Role.CANDIDATE:
            if kind is RequestVoteResponse:
                return self.handle_request_vote_response(
                    node, message)  # type: ignore[arg-type]
            if kind is AppendEntries:
                return self.candidate_append_entries(node, message)  # type: ignore[arg-type]
        elif kind is AppendEntriesResponse:
            return self.handle_append_entries_response(node, message)  # type: ignore[arg-type]
        return node, Effects()  # `BaseState`'s handler: nothing

    def applies_first(self, role: Role, message: Message) -> bool:
        """Which handlers `validate_commit_index` wraps: a follower's `append_entries` and a
        leader's `append_entries_response`."""
        kind = type(message)
        return (role is Role.FOLLOWER and kind is AppendEntries) or \
            (role is Role.LEADER and kind is AppendEntriesResponse)

    def validate_term(self, node: Node, message: Message) -> tuple[Node, Message | None]:
        """`validate_term`: a higher term is stored (the vote kept) and a candidate or leader
        becomes follower (`to_follower`); a request of an older term is refused with the
        node's term; a response of an older term goes on to the handler."""
        if message.term > node.current_term:
            node = _with(node, persistent=Persistent(message.term, node.voted_for, node.log))
            if node.role is not Role.FOLLOWER:
                node = self.to_follower(node)
        if message.term < node.current_term:
            if type(message) is RequestVote:
                return node, RequestVoteResponse(node.id, message.source, node.current_term,
                                                 False)
            if type(message) is AppendEntries:
                return node, AppendEntriesResponse(node.id, message.source, node.current_term,
                                                   False, 0, REFUSED)
        return node, None

    def validate_commit_index(self, node: Node) -> tuple[Node, bool]:
        """`validate_commit_index`: apply every entry from last_applied + 1 to the commit
        index. An index past the log raises IndexError in the library, after applying up to
        the log's end: the handler does not run (False)."""
        volatile = node.volatile
        commit, applied = volatile.commit_index, volatile.last_applied
        if commit <= applied:
            return node, True
        upto = min(commit, node.last_log_index)
        if upto > applied:
            kv = dict(volatile.state_machine)
            for entry in node.log[applied:upto]:
                kv[entry.command.key] = entry.command.value
            node = _with(node, volatile=evolve(volatile, last_applied=upto,
                                               state_machine=tuple(sorted(kv.items()))))
        return node, upto == commit

    # ------------------------------------------------------------------ role changes

    def to_follower(self, node: Node) -> Node:
        """`State.to_follower`: `Follower.start` forgets the vote (`forget_vote`), and
        `set_leader(None)`; the term stays."""
        return _with(node, role=Role.FOLLOWER, persistent=self.forget_vote(node.persistent),
                     volatile=_hinted(node.volatile, None), candidate=None, leader=None)

    def become_candidate(self, node: Node) -> Out:
        """`Candidate.start`: term + 1, vote for itself, `vote_count = 1`, `request_vote` to
        every peer; `set_leader(None)`."""
        term = node.current_term + 1
        node = _with(node, role=Role.CANDIDATE, persistent=Persistent(term, node.id, node.log),
                     volatile=_hinted(node.volatile, None),
                     candidate=CandidateState(frozenset((node.id,))), leader=None)
        requests = tuple(RequestVote(node.id, peer, term, node.last_log_index,
                                     node.last_log_term)
                         for peer in node.peers() if peer != node.id)
        return node, Effects(messages=requests, reset_election_timer=True)

    def become_leader(self, node: Node) -> Out:
        """`State.to_leader` and `Leader.start`: `init_log` (nextIndex just past the log,
        matchIndex 0), no entry of its own, and `heartbeat`: `append_entries` to every peer."""
        last = node.last_log_index
        match = tuple(last if peer == node.id else 0 for peer in node.peers())
        node = _with(node, role=Role.LEADER, volatile=_hinted(node.volatile, node.id),
                     candidate=None,
                     leader=LeaderState(next_index=(last + 1,) * node.cluster_size,
                                        match_index=match))
        return node, Effects(messages=self.append_entries_to_all(node))

    # ------------------------------------------------------------------ timers and clients

    def on_election_timeout(self, node: Node) -> Out:
        """A follower's election timer (`start_election`) makes it a candidate; a candidate's
        (`Candidate.election_timer` calls `to_follower`) makes it a follower of the same term,
        without a vote. A leader's step-down timer (`Leader.step_down_timer`, no majority's
        answers for `step_down_missed_heartbeats` heartbeats) calls `to_follower` too
        (`leader_timer`: the world fires a leader's Timeout for this core)."""
        if node.role is Role.FOLLOWER:
            return self.become_candidate(node)
        return self.to_follower(node), Effects(reset_election_timer=True)

    def on_client_request(self, node: Node, request: ClientRequest) -> Out:
        """`Leader.execute_command`: append the command, then `append_entries` to every peer
        (no commit here). A node that is not the leader raises `NotALeaderException`."""
        if node.role is not Role.LEADER or node.leader is None:
            return node, Effects(client_reply=ClientReply(False,
                                                          leader_hint=node.volatile.leader_hint))
        log = (*node.log, Entry(node.current_term, request.command))
        node = _with(node, persistent=Persistent(node.current_term, node.voted_for, log),
                     leader=evolve(node.leader,
                                   match_index=_replace(node.leader.match_index, node.id,
                                                        len(log))))
        return node, Effects(messages=self.append_entries_to_all(node),
                             client_reply=ClientReply(True, len(log)))

    # ------------------------------------------------------------------ votes

    def handle_request_vote(self, node: Node, request: RequestVote) -> Out:
        """`Follower.on_receive_request_vote`: only a follower with no vote answers (a second
        request of the same candidate goes unanswered), granting if the candidate's log is
        at least as up-to-date; granting does not restart the election timer."""
        if node.voted_for is not None:
            return node, Effects()
        granted = self.log_is_up_to_date(request.last_log_term, request.last_log_index, node)
        if granted:
            node = _with(node, persistent=Persistent(node.current_term, request.candidate_id,
                                                     node.log))
        return node, Effects(messages=(RequestVoteResponse(node.id, request.source,
                                                           node.current_term, granted),))

    # ------------------------------------------------------------------ AppendEntries

    def candidate_append_entries(self, node: Node, request: AppendEntries) -> Out:
        """`Candidate.on_receive_append_entries`: a leader of its term makes it a follower
        (`to_follower`); the message itself is not handled, and not answered."""
        if request.term == node.current_term:
            node = self.to_follower(node)
        return node, Effects()

    def handle_append_entries(self, node: Node, request: AppendEntries) -> Out:
        """`Follower.on_receive_append_entries` (the term check ran first): the leader
        hint; failure when there is no entry at `prev_log_index` or its term differs; else
        `merge_entries`, commit index = min(commit, last index) if the leader's is higher
        (`follower_commit_index`), success with the whole log's last index, and the election
        timer restarted."""
        node = _with(node, volatile=_hinted(node.volatile, request.leader_id))
        prev = request.prev_log_index
        if prev > node.last_log_index or (prev and node.log[prev - 1].term !=
                                          request.prev_log_term):
            reply = AppendEntriesResponse(node.id, request.source, node.current_term, False,
                                          0, 0)
            return node, Effects(messages=(reply,))
        log = self.merge_entries(node.log, prev, request.entries)
        if log != node.log:
            node = _with(node, persistent=Persistent(node.current_term, node.voted_for, log))
        if node.commit_index < request.leader_commit:
            commit = self.follower_commit_index(node, request.leader_commit,
                                                node.last_log_index)
            node = _with(node, volatile=evolve(node.volatile, commit_index=commit))
        last = node.last_log_index
        reply = AppendEntriesResponse(node.id, request.source, node.current_term, True, last,
                                      last)
        return node, Effects(messages=(reply,), reset_election_timer=True)

    def follower_commit_index(self, node: Node, leader_commit: int, last_new: int) -> int:
        """`min(commit_index, last_log_index)`, with the whole log's last index: lower than
        the commit index when the log was truncated below it."""
        return min(leader_commit, last_new)

    def handle_append_entries_response(self, node: Node, response: AppendEntriesResponse) -> Out:
        """`Leader.on_receive_append_entries_response`, of any term: a refusal (no
        `request_id`) raises KeyError; a failure lowers nextIndex by one (to 1 at least), a
        success sets nextIndex and matchIndex from the follower's last index, lowering them
        too, and the commit index follows; then one `append_entries` if the follower lacks
        entries."""
        if response.last_log_index == REFUSED or node.leader is None:
            return node, Effects()
        leader = node.leader
        peer = response.source
        if response.success:
            leader = LeaderState(_replace(leader.next_index, peer, response.last_log_index + 1),
                                 _replace(leader.match_index, peer, response.last_log_index))
            node = self.advance_commit_index(_with(node, leader=leader))
        else:
            next_index = max(leader.next_index[peer] - 1, 1)
            node = _with(node, leader=evolve(leader, next_index=_replace(leader.next_index,
                                                                         peer, next_index)))
        assert node.leader is not None
        if node.last_log_index >= node.leader.next_index[peer]:
            message = self.append_entries_to(node, peer)
            assert message is not None
            return node, Effects(messages=(message,))
        return node, Effects()

    def advance_commit_index(self, node: Node) -> Node:
        """`Leader.update_commit_index`: upwards from commit index + 1, each index stored on
        a majority (its peers' matchIndex, plus itself) and of the current term; the first
        that is not stops the scan. Not applied here (`validate_commit_index`)."""
        assert node.leader is not None
        match = node.leader.match_index
        quorum = self.quorum(node.cluster_size)
        commit = node.commit_index
        for index in range(node.commit_index + 1, node.last_log_index + 1):
            count = 1 + sum(1 for peer, m in enumerate(match) if peer != node.id and m >= index)
            if count < quorum or node.log[index - 1].term != node.current_term:
                break
            commit = index
        if commit == node.commit_index:
            return node
        return _with(node, volatile=evolve(node.volatile, commit_index=commit))

    def append_entries_to(self, node: Node, peer: int) -> AppendEntries | None:  # type: ignore[override]
        """`Leader.append_entries` for one peer: the entry at nextIndex if there is one,
        after `prev_log_index = nextIndex - 1`. None when that is past a non-empty log
        (a success of a follower with a longer log can put nextIndex there): reading its
        term raises IndexError in the library."""
        assert node.leader is not None
        next_index = node.leader.next_index[peer]
        prev = next_index - 1
        if node.log and prev > node.last_log_index:
            return None
        entries = (node.log[next_index - 1],) if node.last_log_index >= next_index else ()
        prev_term = node.log[prev - 1].term if node.log and prev else 0
        return AppendEntries(node.id, peer, node.current_term, prev, prev_term, entries,
                             node.commit_index)

    def append_entries_to_all(self, node: Node) -> tuple[AppendEntries, ...]:
        """`Leader.append_entries()`: every peer, those `append_entries_to` cannot send to
        left out (the library's loop, in its set's order, stops there instead: see
        `broadcast_stops`)."""
        return tuple(message for peer in node.peers() if peer != node.id
                     and (message := self.append_entries_to(node, peer)) is not None)


def broadcast_stops(node: Node) -> bool:
    """Whether a broadcast of this leader reaches a peer `append_entries_to` cannot send to:
    the library's loop raises there, and which peers it served before depends on the order
    of a `set`, so conformance stops comparing."""
    leader = node.leader
    return leader is not None and bool(node.log) and any(
        leader.next_index[peer] - 1 > node.last_log_index
        for peer in node.peers() if peer != node.id)


FAITHFUL_CORES: dict[str, RaftosCore] = {RaftosCore.name: RaftosCore()}
"""The faithful core of raftos, by name (one release on PyPI is modelled: 0.2.6)."""
