"""The bundled Raft core: a pure step function, `step(node, event) -> (node, effects)`.

Structure mirrors the Raft paper's Figure 2 (Ongaro & Ousterhout, "In Search of an
Understandable Consensus Algorithm", 2014):

* term rules once, before dispatch (`step`; "Rules for Servers / All Servers");
* one handler per message or event, named for it;
* role changes as `become_follower` / `become_candidate` / `become_leader`;
* the small decisions a real bug changes (quorum size, the up-to-date check, which entries may
  be committed, what is persisted) are methods of their own, so that a deliberately broken core
  is a subclass overriding a few lines (see `impl.broken`), never a copy.

No clock, randomness, I/O or global state: timers are events, and the random election timeout
is drawn by the world. Every handler returns a new Node; nothing is mutated.
"""

from __future__ import annotations

from typing import Any

from attrs import evolve

from raftcheck.impl.types import (
    MESSAGE_TYPES,
    AppendEntries,
    AppendEntriesResponse,
    CandidateState,
    ClientReply,
    ClientRequest,
    Effects,
    ElectionTimeout,
    Entry,
    Event,
    HeartbeatTimeout,
    LeaderState,
    Message,
    Node,
    Persistent,
    RequestVote,
    RequestVoteResponse,
    Role,
    Volatile,
)

Out = tuple[Node, Effects]


class RaftCore:
    """The correct core. Stateless: an instance is a bundle of pure functions."""

    name = "raft"
    # Entries per AppendEntries; None sends the whole suffix from nextIndex. Real systems cap
    # it (etcd's MaxSizePerMsg; raft.tla sends one entry), which is when AppendEntries rule
    # 5's min(leaderCommit, index of last new entry) starts to matter.
    max_entries_per_append: int | None = None
    # Whether a leader has a timer of its own that the world fires as a `Timeout` (the paper's
    # leader has none: its election timeout changes nothing, so the world leaves it out).
    leader_timer = False

    # ------------------------------------------------------------------ life cycle

    def initial_node(self, node_id: int, cluster_size: int) -> Node:
        """A server that has never run: term 0, no vote, empty log, follower (§5.2)."""
        return Node(id=node_id, cluster_size=cluster_size)

    def restart(self, node_id: int, cluster_size: int, persistent: Persistent) -> Node:
        """A server rebooting from stable storage: Figure 2's persistent state survives,
        everything volatile starts over (commit_index and last_applied from 0, as a follower).
        Committed entries are re-applied once a leader tells it the commit index again."""
        return Node(id=node_id, cluster_size=cluster_size, persistent=persistent)

    # ------------------------------------------------------------------ dispatch

    def step(self, node: Node, event: Event) -> Out:
        """Handle one event. Messages go through the term rules first (§5.1): a higher term
        makes the receiver adopt it and become follower *before* handling the message."""
        before = node.persistent
        kind = type(event)
        if kind in MESSAGE_TYPES:
            message: Message = event  # type: ignore[assignment]  # checked by kind just above
            if message.term > before.current_term:
                node = self.on_higher_term(node, message.term)
            node, effects = self.handle_message(node, message)
        elif kind is ElectionTimeout:
            node, effects = self.on_election_timeout(node)
        elif kind is HeartbeatTimeout:
            node, effects = self.on_heartbeat_timeout(node)
        elif kind is ClientRequest:
            node, effects = self.on_client_request(node, event)  # type: ignore[arg-type]
        else:
            raise TypeError(f"not a Raft event: {event!r}")
        persist = self.to_persist(before, node.persistent)
        if persist is not None:
            effects = Effects(persist, effects.messages, effects.reset_election_timer,
                              effects.client_reply)
        return node, effects

    def handle_message(self, node: Node, message: Message) -> Out:
        kind = type(message)
        if kind is RequestVote:
            return self.handle_request_vote(node, message)  # type: ignore[arg-type]
        if kind is RequestVoteResponse:
            return self.handle_request_vote_response(node, message)  # type: ignore[arg-type]
        if kind is AppendEntries:
            return self.handle_append_entries(node, message)  # type: ignore[arg-type]
        return self.handle_append_entries_response(node, message)  # type: ignore[arg-type]

    def to_persist(self, before: Persistent, after: Persistent) -> Persistent | None:
        """Figure 2: persistent state is "updated on stable storage before responding to RPCs".
        Whatever changed is written in the same step that sends the messages depending on it."""
        return None if after is before or after == before else after

    # ------------------------------------------------------------------ rules a bug changes

    def quorum(self, cluster_size: int) -> int:
        """A majority of the cluster (§5.2): any two majorities intersect."""
        return cluster_size // 2 + 1

    def log_is_up_to_date(self, last_log_term: int, last_log_index: int, voter: Node) -> bool:
        """§5.4.1: the candidate's log is at least as up-to-date as the voter's if its last
        term is higher, or the last terms are equal and it is at least as long."""
        if last_log_term != voter.last_log_term:
            return last_log_term > voter.last_log_term
        return last_log_index >= voter.last_log_index

    def may_vote_for(self, node: Node, candidate_id: int) -> bool:
        """§5.2: "Each server will vote for at most one candidate in a given term"."""
        return node.voted_for is None or node.voted_for == candidate_id

    def log_matches(self, node: Node, prev_log_index: int, prev_log_term: int) -> bool:
        """§5.3, the AppendEntries consistency check: the follower holds an entry at
        prev_log_index with term prev_log_term (index 0 is the empty prefix, always matched).
        By induction this makes every accepted log a prefix-match of the leader's."""
        if prev_log_index == 0:
            return True
        return (prev_log_index <= node.last_log_index
                and node.log[prev_log_index - 1].term == prev_log_term)

    def is_stale(self, node: Node, message: Message) -> bool:
        """§5.1: a message from an older term is stale. A request is rejected with our term
        (so a deposed leader learns it); a response is ignored (raft.tla's DropStaleResponse):
        it answers a question this server asked in a term that is over."""
        return message.term < node.current_term

    def on_higher_term(self, node: Node, term: int) -> Node:
        """§5.1: "If RPC request or response contains term T > currentTerm: set currentTerm =
        T, convert to follower" -- whatever role this server had."""
        return self.become_follower(node, term)

    def follower_commit_index(self, node: Node, leader_commit: int, last_new: int) -> int:
        """AppendEntries rule 5: "set commitIndex = min(leaderCommit, index of last new entry)".
        Only the entries this request verified are known to match the leader's; a stale,
        reordered request may verify fewer than already committed, so never lower it (etcd's
        commitTo)."""
        return max(node.commit_index, min(leader_commit, last_new))

    def acknowledged_index(self, node: Node, request: AppendEntries) -> int:
        """What a successful AppendEntries reply vouches for: the prefix this request checked
        and wrote (prev_log_index plus its entries) -- not the follower's whole log, whose tail
        beyond it may not be the leader's (§5.3)."""
        return request.prev_log_index + len(request.entries)

    def matched_index(self, node: Node, response: AppendEntriesResponse) -> int:
        """Figure 2, Leaders: "If successful: update ... matchIndex for follower", from what
        the answered request verified; never backwards, since a reordered response for an
        older request must not undo newer knowledge. (Capped at the leader's own log: a
        follower cannot hold more of it than it has; never binding for a correct follower.)"""
        assert node.leader is not None
        matched = min(response.match_index, node.last_log_index)
        return max(node.leader.match_index[response.source], matched)

    def may_commit(self, node: Node, index: int) -> bool:
        """§5.4.2: a leader commits by counting replicas only entries of its current term;
        earlier entries are committed indirectly (Figure 8 shows why)."""
        return node.log[index - 1].term == node.current_term

    # ------------------------------------------------------------------ role changes

    def become_follower(self, node: Node, term: int) -> Node:
        """§5.1: "If RPC request or response contains term T > currentTerm: set currentTerm =
        T, convert to follower". A new term means no vote has been cast in it yet."""
        return _with(node,
            role=Role.FOLLOWER,
            persistent=Persistent(term, None, node.log),
            volatile=_hinted(node.volatile, None),
            candidate=None,
            leader=None,
        )

    def become_candidate(self, node: Node) -> Out:
        """§5.2: "increment currentTerm, vote for self, reset election timer, send RequestVote
        RPCs to all other servers"."""
        term = node.current_term + 1
        node = _with(node,
            role=Role.CANDIDATE,
            persistent=Persistent(term, node.id, node.log),
            volatile=_hinted(node.volatile, None),
            candidate=CandidateState(frozenset((node.id,))),
            leader=None,
        )
        if self.quorum(node.cluster_size) <= 1:  # a cluster of one elects itself
            return self.become_leader(node)
        requests = tuple(
            RequestVote(node.id, peer, term, node.last_log_index, node.last_log_term)
            for peer in node.peers()
            if peer != node.id
        )
        return node, Effects(messages=requests, reset_election_timer=True)

    def become_leader(self, node: Node) -> Out:
        """Figure 2, Leaders: "Upon election: send initial empty AppendEntries RPCs (heartbeat)
        to each server"; nextIndex starts just past the leader's log, matchIndex at 0."""
        last = node.last_log_index
        match = tuple(last if peer == node.id else 0 for peer in node.peers())
        node = _with(node,
            role=Role.LEADER,
            volatile=_hinted(node.volatile, node.id),
            candidate=None,
            leader=LeaderState(next_index=(last + 1,) * node.cluster_size, match_index=match),
        )
        node = self.advance_commit_index(node)  # a cluster of one commits on its own
        return node, Effects(messages=self.append_entries_to_all(node))

    # ------------------------------------------------------------------ timers and clients

    def on_election_timeout(self, node: Node) -> Out:
        """Figure 2, Followers/Candidates: "If election timeout elapses without receiving
        AppendEntries from current leader or granting vote to candidate: convert to candidate";
        a candidate whose election timed out starts a new one (§5.2, split votes)."""
        if node.role is Role.LEADER:
            return node, Effects()  # a leader has no election timer
        return self.become_candidate(node)

    def on_heartbeat_timeout(self, node: Node) -> Out:
        """Figure 2, Leaders: heartbeats "during idle periods to prevent election timeouts",
        carrying any entries a follower lacks ("If last log index >= nextIndex for a follower:
        send AppendEntries RPC with log entries starting at nextIndex")."""
        if node.role is not Role.LEADER:
            return node, Effects()
        return node, Effects(messages=self.append_entries_to_all(node))

    def on_client_request(self, node: Node, request: ClientRequest) -> Out:
        """Figure 2, Leaders: "If command received from client: append entry to local log".
        Others refuse and name the leader they know (§8)."""
        if node.role is not Role.LEADER or node.leader is None:
            reply = ClientReply(accepted=False, leader_hint=node.volatile.leader_hint)
            return node, Effects(client_reply=reply)
        log = (*node.log, Entry(node.current_term, request.command))
        match = _replace(node.leader.match_index, node.id, len(log))
        node = _with(node,
            persistent=Persistent(node.current_term, node.voted_for, log),
            leader=evolve(node.leader, match_index=match),
        )
        node = self.advance_commit_index(node)  # only moves in a cluster of one
        return node, Effects(client_reply=ClientReply(accepted=True, index=len(log)))

    # ------------------------------------------------------------------ RequestVote

    def handle_request_vote(self, node: Node, request: RequestVote) -> Out:
        """Figure 2, RequestVote RPC receiver: "Reply false if term < currentTerm (§5.1). If
        votedFor is null or candidateId, and candidate's log is at least as up-to-date as
        receiver's log, grant vote (§5.2, §5.4)". Granting restarts the election timer."""
        granted = (
            request.term == node.current_term
            and self.may_vote_for(node, request.candidate_id)
            and self.log_is_up_to_date(request.last_log_term, request.last_log_index, node)
        )
        if granted:
            persistent = Persistent(node.current_term, request.candidate_id, node.log)
            node = _with(node, persistent=persistent)
        reply = RequestVoteResponse(node.id, request.source, node.current_term, granted)
        return node, Effects(messages=(reply,), reset_election_timer=granted)

    def handle_request_vote_response(self, node: Node, response: RequestVoteResponse) -> Out:
        """§5.2: "If votes received from majority of servers: become leader". Responses from
        an older term are stale and ignored (§5.1; raft.tla's DropStaleResponse)."""
        if (
            self.is_stale(node, response)
            or node.role is not Role.CANDIDATE
            or node.candidate is None
            or not response.vote_granted
        ):
            return node, Effects()
        candidate = self.record_vote(node.candidate, response.source)
        node = _with(node, candidate=candidate)
        if self.votes_counted(candidate) >= self.quorum(node.cluster_size):
            return self.become_leader(node)
        return node, Effects()

    def record_vote(self, candidate: CandidateState, voter: int) -> CandidateState:
        """§5.2: a candidate wins with votes from a majority *of servers*: it records who
        voted, so a duplicated or retransmitted "yes" from the same voter counts once."""
        return CandidateState(candidate.votes_granted | {voter})

    def votes_counted(self, candidate: CandidateState) -> int:
        return len(candidate.votes_granted)

    # ------------------------------------------------------------------ AppendEntries

    def handle_append_entries(self, node: Node, request: AppendEntries) -> Out:
        """Figure 2, AppendEntries RPC receiver, rules 1-5."""
        # 1. "Reply false if term < currentTerm (§5.1)": a deposed leader learns the new term.
        if self.is_stale(node, request):
            return node, Effects(messages=(self._reject(node, request, node.last_log_index),))
        # Same term: the sender is this term's leader. Candidates step down (§5.2: "If
        # AppendEntries RPC received from new leader: convert to follower"); hearing from the
        # leader restarts the election timer.
        node = _with(node,
            role=Role.FOLLOWER,
            volatile=_hinted(node.volatile, request.leader_id),
            candidate=None,
            leader=None,
        )
        # 2. "Reply false if log doesn't contain an entry at prevLogIndex whose term matches
        # prevLogTerm (§5.3)". The hint is the longest prefix we could share with the leader.
        prev = request.prev_log_index
        if not self.log_matches(node, prev, request.prev_log_term):
            hint = self.rejection_hint(node, prev)
            return node, Effects(messages=(self._reject(node, request, hint),),
                                 reset_election_timer=True)
        # 3-4. Delete on a real conflict only, append what is new (§5.3).
        log = self.merge_entries(node.log, prev, request.entries)
        if log != node.log:
            node = _with(node, persistent=Persistent(node.current_term, node.voted_for, log))
        # 5. "If leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of last
        # new entry)".
        last_new = prev + len(request.entries)
        if request.leader_commit > node.commit_index:
            commit = self.follower_commit_index(node, request.leader_commit, last_new)
            node = self.apply_committed(_with(node, volatile=evolve(node.volatile,
                                                                     commit_index=commit)))
        reply = AppendEntriesResponse(node.id, request.source, node.current_term, True,
                                      self.acknowledged_index(node, request), node.last_log_index)
        return node, Effects(messages=(reply,), reset_election_timer=True)

    def merge_entries(
        self, log: tuple[Entry, ...], prev_log_index: int, entries: tuple[Entry, ...]
    ) -> tuple[Entry, ...]:
        """§5.3, rules 3-4: "If an existing entry conflicts with a new one (same index but
        different terms), delete the existing entry and all that follow it. Append any new
        entries not already in the log." Entries already present are kept, and so is anything
        after them: a duplicated or reordered request must never truncate the log (the Raft
        students' guide calls this out as a common bug)."""
        for offset, entry in enumerate(entries):
            index = prev_log_index + 1 + offset
            if index > len(log):
                return log + entries[offset:]
            if log[index - 1].term != entry.term:
                return log[: index - 1] + entries[offset:]
        return log

    def rejection_hint(self, node: Node, prev_log_index: int) -> int:
        """The hint a follower sends with a failed consistency check: the longest prefix it
        could share with the leader, everything before prev_log_index that it holds. (A
        refactor may hint further back, as impl/refactors/conflict_term.py does.)"""
        return min(node.last_log_index, prev_log_index - 1)

    def _reject(self, node: Node, request: AppendEntries, hint: int) -> AppendEntriesResponse:
        return AppendEntriesResponse(node.id, request.source, node.current_term, False, 0, hint)

    def handle_append_entries_response(self, node: Node, response: AppendEntriesResponse) -> Out:
        """Figure 2, Leaders: "If successful: update nextIndex and matchIndex for follower. If
        AppendEntries fails because of log inconsistency: decrement nextIndex and retry"."""
        if self.is_stale(node, response) or node.role is not Role.LEADER:
            return node, Effects()  # stale response (§5.1) or no longer leading
        leader = node.leader
        assert leader is not None
        peer = response.source
        if response.success:
            match = self.matched_index(node, response)
            nxt = max(leader.next_index[peer], match + 1)
            node = _with(node, leader=LeaderState(_replace(leader.next_index, peer, nxt),
                                                   _replace(leader.match_index, peer, match)))
            return self.advance_commit_index(node), Effects()
        nxt = self.next_index_after_rejection(leader, response)
        node = _with(node, leader=evolve(leader, next_index=_replace(leader.next_index, peer,
                                                                      nxt)))
        return node, Effects(messages=(self.append_entries_to(node, peer),))

    def next_index_after_rejection(self, leader: LeaderState,
                                   response: AppendEntriesResponse) -> int:
        """"If AppendEntries fails because of log inconsistency: decrement nextIndex": back
        off at least one index, straight to the follower's hint when it is lower, but never
        below what the follower is known to hold."""
        peer = response.source
        return max(leader.match_index[peer] + 1,
                   min(leader.next_index[peer] - 1, response.last_log_index + 1))

    def append_entries_to(self, node: Node, peer: int) -> AppendEntries:
        """The AppendEntries a leader sends `peer`: everything from nextIndex on, anchored by
        the entry just before it (§5.3)."""
        assert node.leader is not None
        prev = node.leader.next_index[peer] - 1
        prev_term = node.log[prev - 1].term if prev > 0 else 0
        limit = self.max_entries_per_append
        entries = node.log[prev:] if limit is None else node.log[prev: prev + limit]
        return AppendEntries(node.id, peer, node.current_term, prev, prev_term, entries,
                             node.commit_index)

    def append_entries_to_all(self, node: Node) -> tuple[AppendEntries, ...]:
        return tuple(self.append_entries_to(node, peer) for peer in node.peers()
                     if peer != node.id)

    # ------------------------------------------------------------------ commit and apply

    def advance_commit_index(self, node: Node) -> Node:
        """Figure 2, Leaders: "If there exists an N such that N > commitIndex, a majority of
        matchIndex[i] >= N, and log[N].term == currentTerm: set commitIndex = N" (§5.3, §5.4)."""
        assert node.leader is not None
        match = node.leader.match_index
        quorum = self.quorum(node.cluster_size)
        for index in range(node.last_log_index, node.commit_index, -1):
            if not self.may_commit(node, index):
                continue
            if sum(1 for m in match if m >= index) >= quorum:
                node = _with(node, volatile=evolve(node.volatile, commit_index=index))
                return self.apply_committed(node)
        return node

    def apply_committed(self, node: Node) -> Node:
        """Figure 2, All Servers: "If commitIndex > lastApplied: increment lastApplied, apply
        log[lastApplied] to state machine (§5.3)", in log order, up to commitIndex."""
        volatile = node.volatile
        upto = min(volatile.commit_index, node.last_log_index)
        if upto <= volatile.last_applied:
            return node
        kv = dict(volatile.state_machine)
        for entry in node.log[volatile.last_applied: upto]:
            kv[entry.command.key] = entry.command.value
        return _with(node, volatile=evolve(volatile, last_applied=upto,
                                            state_machine=tuple(sorted(kv.items()))))


_KEEP: Any = object()


def _with(node: Node, *, role: Role = _KEEP, persistent: Persistent = _KEEP,
          volatile: Volatile = _KEEP, candidate: CandidateState | None = _KEEP,
          leader: LeaderState | None = _KEEP) -> Node:
    """`attrs.evolve` for the one class on the hot path, without its per-call introspection
    (step throughput roughly doubles)."""
    return Node(
        node.id,
        node.cluster_size,
        node.role if role is _KEEP else role,
        node.persistent if persistent is _KEEP else persistent,
        node.volatile if volatile is _KEEP else volatile,
        node.candidate if candidate is _KEEP else candidate,
        node.leader if leader is _KEEP else leader,
    )


def _hinted(volatile: Volatile, leader_hint: int | None) -> Volatile:
    if volatile.leader_hint == leader_hint:
        return volatile
    return Volatile(volatile.commit_index, volatile.last_applied, volatile.state_machine,
                    leader_hint)


def _replace(values: tuple[int, ...], index: int, value: int) -> tuple[int, ...]:
    return (*values[:index], value, *values[index + 1:])


CORE = RaftCore()
step = CORE.step
initial_node = CORE.initial_node
restart = CORE.restart
