"""The values the Raft core consumes and produces.

Everything here is an attrs frozen, slotted class holding only ints, strings, tuples and
frozensets, so a node or a message can be shared between explored states without aliasing
and compared or hashed by value. A `Node` caches its hash: a search looks up the core's
answer by (node, event) for every transition, and the same nodes recur.

The vocabulary is the Raft paper's Figure 2 in snake_case: `current_term`, `voted_for`, `log`,
`commit_index`, `last_applied`, `next_index`, `match_index`; messages `RequestVote`,
`RequestVoteResponse`, `AppendEntries`, `AppendEntriesResponse` with the paper's field names.
Node ids are ints 0..n-1 so that the cluster is a permutation-symmetric set of servers.
"""

from __future__ import annotations

import enum
from typing import ClassVar

from attrs import field, frozen


class Role(enum.IntEnum):
    """Figure 4's three server states."""

    FOLLOWER = 0
    CANDIDATE = 1
    LEADER = 2

    def __str__(self) -> str:
        return self.name.lower()


@frozen(order=True)
class Put:
    """A state-machine command: set `key` to `value` in the replicated key-value map."""

    key: str
    value: int

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


@frozen(order=True)
class Entry:
    """A log entry: the command and the term in which a leader received it (§5.3)."""

    term: int
    command: Put

    def __str__(self) -> str:
        return f"{self.term}:{self.command}"


# --------------------------------------------------------------------------------------------
# Node state, split along Figure 2's boxes so that a crash keeps exactly the persistent part.
# --------------------------------------------------------------------------------------------


@frozen
class Persistent:
    """Figure 2, "Persistent state on all servers (updated on stable storage before responding
    to RPCs)". This is all a restarted server remembers."""

    current_term: int = 0
    voted_for: int | None = None
    log: tuple[Entry, ...] = ()


@frozen
class Journal(Persistent):
    """Persistent state plus the commit index as the journal last stored it, for cores whose
    journal keeps one (PySyncObj's does, and reads it back on restart; Figure 2 makes the
    commit index volatile). `impl.pysyncobj` says when it is stored."""

    commit_index: int = 0


@frozen
class Volatile:
    """Figure 2, "Volatile state on all servers", plus the state machine it drives and the
    last leader heard from (used only to redirect clients, §8)."""

    commit_index: int = 0
    last_applied: int = 0
    state_machine: tuple[tuple[str, int], ...] = ()  # the applied key-value map, sorted by key
    leader_hint: int | None = None


@frozen
class CandidateState:
    """Votes received in the current election (§5.2); exists only while a candidate."""

    votes_granted: frozenset[int]
    # Granted responses received, for cores that tally votes with a counter instead of the set
    # of voters. The bundled core counts voters and leaves this 0; a counter is what
    # `impl.broken.CountDuplicateVotes` gets wrong.
    responses: int = 0


@frozen
class LeaderState:
    """Figure 2, "Volatile state on leaders (reinitialized after election)", indexed by node id.
    The leader's own slot of `match_index` tracks its own last log index."""

    next_index: tuple[int, ...]
    match_index: tuple[int, ...]


@frozen(cache_hash=True)
class Node:
    """One server. `candidate` is set exactly when `role` is CANDIDATE, `leader` exactly when
    it is LEADER."""

    id: int
    cluster_size: int
    role: Role = Role.FOLLOWER
    persistent: Persistent = Persistent()
    volatile: Volatile = Volatile()
    candidate: CandidateState | None = None
    leader: LeaderState | None = None

    # Read-only shortcuts in the paper's names, so properties and traces read like Figure 2.
    @property
    def current_term(self) -> int:
        return self.persistent.current_term

    @property
    def voted_for(self) -> int | None:
        return self.persistent.voted_for

    @property
    def log(self) -> tuple[Entry, ...]:
        return self.persistent.log

    @property
    def commit_index(self) -> int:
        return self.volatile.commit_index

    @property
    def last_applied(self) -> int:
        return self.volatile.last_applied

    @property
    def last_log_index(self) -> int:
        return len(self.persistent.log)

    @property
    def last_log_term(self) -> int:
        log = self.persistent.log
        return log[-1].term if log else 0

    def peers(self) -> range:
        return range(self.cluster_size)


# --------------------------------------------------------------------------------------------
# Messages (Figure 2's RPCs, as one-way messages: a response is a message of its own).
# `source`/`dest` address them; `candidate_id` and `leader_id` are the paper's names for source.
# `order=True` plus `KIND` gives every message a total order, so a bag of messages has one
# canonical sorted form and actions are enumerated in a deterministic order. A message keeps
# its hash: the world looks the core's answers up by (node, message).
# --------------------------------------------------------------------------------------------


@frozen(order=True, cache_hash=True)
class RequestVote:
    KIND: ClassVar[int] = 0
    source: int
    dest: int
    term: int
    last_log_index: int
    last_log_term: int

    @property
    def candidate_id(self) -> int:
        return self.source


@frozen(order=True, cache_hash=True)
class RequestVoteResponse:
    KIND: ClassVar[int] = 1
    source: int
    dest: int
    term: int
    vote_granted: bool


@frozen(order=True, cache_hash=True)
class AppendEntries:
    KIND: ClassVar[int] = 2
    source: int
    dest: int
    term: int
    prev_log_index: int
    prev_log_term: int
    entries: tuple[Entry, ...]
    leader_commit: int

    @property
    def leader_id(self) -> int:
        return self.source


@frozen(order=True, cache_hash=True)
class AppendEntriesResponse:
    """`match_index` is the index of the last entry the follower verified for this request
    (prev_log_index + len(entries)) when `success`; when not, `last_log_index` is a hint: the
    longest prefix the follower could possibly share, so the leader backs off in one step
    instead of one index per round trip (§5.3, "the leader can decrement nextIndex" faster)."""

    KIND: ClassVar[int] = 3
    source: int
    dest: int
    term: int
    success: bool
    match_index: int
    last_log_index: int = field(default=0)
    # §5.3's "term of the conflicting entry", for cores that backtrack a term at a time
    # (impl/refactors/conflict_term.py); 0 when unused, as by the bundled core.
    conflict_term: int = field(default=0)


Message = RequestVote | RequestVoteResponse | AppendEntries | AppendEntriesResponse
MESSAGE_TYPES = frozenset((RequestVote, RequestVoteResponse, AppendEntries, AppendEntriesResponse))


def message_key(message: Message) -> tuple[object, ...]:
    """Total order over messages of every kind: by kind, then field by field. A plain tuple
    (not attrs' generated comparison, which is several times slower when sorting a bag)."""
    if isinstance(message, AppendEntries):
        entries = tuple((e.term, e.command.key, e.command.value) for e in message.entries)
        return (2, message.source, message.dest, message.term, message.prev_log_index,
                message.prev_log_term, entries, message.leader_commit)
    if isinstance(message, RequestVote):
        return (0, message.source, message.dest, message.term, message.last_log_index,
                message.last_log_term)
    if isinstance(message, RequestVoteResponse):
        return (1, message.source, message.dest, message.term, message.vote_granted)
    return (3, message.source, message.dest, message.term, message.success,
            message.match_index, message.last_log_index, message.conflict_term)


# --------------------------------------------------------------------------------------------
# Local events: timers firing and clients calling. Time and chance stay outside the core: the
# world decides *when* a timer fires (and draws the randomized 150-300 ms timeout from a seeded
# source it owns); the core only says, through Effects, when its election timer must restart.
# --------------------------------------------------------------------------------------------


@frozen
class ElectionTimeout:
    """The node's randomized election timer fired (§5.2)."""


@frozen
class HeartbeatTimeout:
    """The leader's heartbeat interval elapsed (§5.2: "repeat during idle periods")."""


@frozen
class ClientRequest:
    command: Put


Event = Message | ElectionTimeout | HeartbeatTimeout | ClientRequest


# --------------------------------------------------------------------------------------------
# Effects: what the caller must do after a step, in this order (etcd's Ready): write `persist`
# to stable storage, then send `messages`, then restart the election timer / answer the client.
# --------------------------------------------------------------------------------------------


@frozen
class ClientReply:
    """Answer to a ClientRequest: accepted at `index` by the leader, or refused with the id of
    the leader this node last heard from (None if it knows none)."""

    accepted: bool
    index: int | None = None
    leader_hint: int | None = None


@frozen
class Effects:
    persist: Persistent | None = None
    messages: tuple[Message, ...] = ()
    reset_election_timer: bool = False
    client_reply: ClientReply | None = None

