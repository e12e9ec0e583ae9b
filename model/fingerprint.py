"""Canonical, process-independent encodings and 8-byte fingerprints of world states.

The exhaustive engine deduplicates states by fingerprint (TLC keeps 8-byte fingerprints, not
states). Python's `hash()` cannot serve: `str` hashes are randomized per process
(PYTHONHASHSEED), `hash(None)` is an address before Python 3.12, and attrs hashes are salted,
yet fingerprints must agree between worker processes and across checkpoint/resume. So a
`World` is first *encoded* as nested tuples of ints and strings (the same value gives the same
tuple, in every process), then serialised with `marshal` format version 2 (no back-references
and no interning flags, so the bytes depend only on the value) and hashed with XXH3-64
(`xxhash`).

The encoding is lossless: `decode(encode(world), n)` rebuilds an equal world. Worker processes
exchange encodings rather than pickled worlds (about ten times cheaper to ship).

Layout of `encode(world)` (node ids are positions; `-1` stands for "none"):

    (nodes, disks, network, isolated, crashes, partitions, leaders, committed, applied,
     ballots, clock)

    node      () when down, else (role, term, voted_for, log, commit_index, last_applied,
              state_machine, leader_hint, votes_mask (-1: not a candidate), next_index,
              match_index (both () when not a leader)), plus the stored commit index when
              the persistent state is an `impl.types.Journal`
    disk      (term, voted_for, log), plus the stored commit index for a `Journal`
    log       ((term, key, value), ...)
    message   (kind, source, dest, term, ...the other fields in declaration order; entries as a
              log; bools as 0/1)
    leaders   sorted ((term, node), ...)
    committed ((term, key, value, commit_term), ...)
    ballots   sorted ((term, voter, candidate), ...)
    clock     () in the untimed world, else (now, deadlines (-1 while down), rng)

Node objects, logs and messages are shared between a state and its successors (they are
immutable), so their encodings are memoised by identity; the memo holds a reference to each
object it describes, so an id cannot be reused while its entry lives.
"""

from __future__ import annotations

import marshal
from typing import Any

from xxhash import xxh3_64_intdigest

from raftcheck.impl.types import (
    AppendEntries,
    AppendEntriesResponse,
    CandidateState,
    Entry,
    Journal,
    LeaderState,
    Message,
    Node,
    Persistent,
    Put,
    RequestVote,
    RequestVoteResponse,
    Role,
    Volatile,
)
from raftcheck.model.state import Clock, Committed, History, World

Encoding = tuple[Any, ...]
"""A state as nested tuples of ints and strings (see the module docstring)."""

MARSHAL_VERSION = 2  # version 3 added references that depend on object identity
_MEMO_LIMIT = 100_000  # entries per memo before it is cleared (a BFS level apart)

_log_memo: dict[int, tuple[tuple[Entry, ...], tuple[tuple[int, str, int], ...]]] = {}
_message_memo: dict[int, tuple[Message, tuple[Any, ...]]] = {}


def encode_log(log: tuple[Entry, ...]) -> tuple[tuple[int, str, int], ...]:
    if not log:
        return ()
    hit = _log_memo.get(id(log))
    if hit is not None and hit[0] is log:
        return hit[1]
    encoded = tuple((entry.term, entry.command.key, entry.command.value) for entry in log)
    if len(_log_memo) >= _MEMO_LIMIT:
        _log_memo.clear()
    _log_memo[id(log)] = (log, encoded)
    return encoded


def encode_message(message: Message) -> tuple[Any, ...]:
    """(kind, source, dest, term, rest...)."""
    hit = _message_memo.get(id(message))
    if hit is not None and hit[0] is message:
        return hit[1]
    encoded: tuple[Any, ...]
    if isinstance(message, RequestVote):
        encoded = (0, message.source, message.dest, message.term, message.last_log_index,
                   message.last_log_term)
    elif isinstance(message, RequestVoteResponse):
        encoded = (1, message.source, message.dest, message.term, int(message.vote_granted))
    elif isinstance(message, AppendEntries):
        encoded = (2, message.source, message.dest, message.term, message.prev_log_index,
                   message.prev_log_term, encode_log(message.entries), message.leader_commit)
    else:
        encoded = (3, message.source, message.dest, message.term, int(message.success),
                   message.match_index, message.last_log_index)
        if message.conflict_term:  # only cores that use it pay for it (impl/refactors)
            encoded += (message.conflict_term,)
    if len(_message_memo) >= _MEMO_LIMIT:
        _message_memo.clear()
    _message_memo[id(message)] = (message, encoded)
    return encoded


RESPONSES_SHIFT = 16  # node ids (< 10) take the low bits of the votes field


def encode_node(node: Node | None) -> tuple[Any, ...]:
    if node is None:
        return ()
    persistent, volatile = node.persistent, node.volatile
    voted_for = persistent.voted_for
    hint = volatile.leader_hint
    candidate, leader = node.candidate, node.leader
    votes = -1
    if candidate is not None:
        votes = candidate.responses << RESPONSES_SHIFT  # a bitmask of voters below it
        for voter in candidate.votes_granted:
            votes |= 1 << voter
    encoded = (
        int(node.role),
        persistent.current_term,
        -1 if voted_for is None else voted_for,
        encode_log(persistent.log),
        volatile.commit_index,
        volatile.last_applied,
        volatile.state_machine,
        -1 if hint is None else hint,
        votes,
        () if leader is None else leader.next_index,
        () if leader is None else leader.match_index,
    )
    if type(persistent) is Journal:
        return (*encoded, persistent.commit_index)
    return encoded


def encode_disk(disk: Persistent) -> tuple[Any, ...]:
    voted_for = disk.voted_for
    encoded = (disk.current_term, -1 if voted_for is None else voted_for, encode_log(disk.log))
    if type(disk) is Journal:
        return (*encoded, disk.commit_index)
    return encoded


_history_memo: dict[int, tuple[History, tuple[Any, Any, Any, Any]]] = {}


def encode_history(history: History) -> tuple[Any, Any, Any, Any]:
    """(leaders, committed, applied, ballots); memoised by identity (most steps keep the
    history)."""
    hit = _history_memo.get(id(history))
    if hit is not None and hit[0] is history:
        return hit[1]
    leaders = tuple(sorted(history.leaders))
    committed = tuple((known.entry.term, known.entry.command.key, known.entry.command.value,
                       known.term) for known in history.committed)
    encoded = (leaders, committed, encode_log(history.applied), tuple(sorted(history.ballots)))
    if len(_history_memo) >= _MEMO_LIMIT:
        _history_memo.clear()
    _history_memo[id(history)] = (history, encoded)
    return encoded


def encode_clock(clock: Clock | None) -> tuple[Any, ...]:
    if clock is None:
        return ()
    return (clock.now, tuple(-1 if d is None else d for d in clock.deadlines), clock.rng)


def encode(world: World) -> Encoding:
    """The exact (not symmetry-reduced) encoding of `world`."""
    leaders, committed, applied, ballots = encode_history(world.history)
    return (
        tuple(map(encode_node, world.nodes)),
        tuple(map(encode_disk, world.disk)),
        tuple(map(encode_message, world.network)),
        tuple(sorted(world.isolated)),
        world.crashes,
        world.partitions,
        leaders,
        committed,
        applied,
        ballots,
        encode_clock(world.clock),
    )


def digest(encoding: Encoding) -> int:
    """The 64-bit fingerprint of an encoding: XXH3-64 over its marshal v2 bytes."""
    return xxh3_64_intdigest(marshal.dumps(encoding, MARSHAL_VERSION))


def digest_bytes(data: bytes) -> int:
    """The 64-bit fingerprint of state bytes: XXH3-64 (seed 0), a non-cryptographic hash
    of good quality (it passes SMHasher), fifteen times faster than BLAKE2b on a state's few
    hundred bytes; nothing here needs resistance to an adversary."""
    return xxh3_64_intdigest(data)


def fingerprint(world: World) -> int:
    """The exact 64-bit fingerprint of `world` (see `model.symmetry` for the reduced one)."""
    return digest(encode(world))


# ------------------------------------------------------------------------------ decoding


# Decoding is memoised by value: the same servers, logs and messages recur across the states
# a worker decodes, and sharing the decoded objects also keeps the identity memos above warm.
_decoded_logs: dict[tuple[Any, ...], tuple[Entry, ...]] = {}
_decoded_messages: dict[tuple[Any, ...], Message] = {}
_decoded_nodes: dict[tuple[int, int, tuple[Any, ...]], Node | None] = {}
_decoded_disks: dict[tuple[Any, ...], Persistent] = {}


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo[key] = value


def _decode_log(encoded: tuple[tuple[int, str, int], ...]) -> tuple[Entry, ...]:
    if not encoded:
        return ()
    log = _decoded_logs.get(encoded)
    if log is None:
        log = tuple(Entry(term, Put(key, value)) for term, key, value in encoded)
        _remember(_decoded_logs, encoded, log)
    return log


def _none(value: int) -> int | None:
    return None if value < 0 else value


def decode_message(encoded: tuple[Any, ...]) -> Message:
    message = _decoded_messages.get(encoded)
    if message is not None:
        return message
    kind = encoded[0]
    if kind == 0:
        source, dest, term, last_index, last_term = encoded[1:]
        message = RequestVote(source, dest, term, last_index, last_term)
    elif kind == 1:
        source, dest, term, granted = encoded[1:]
        message = RequestVoteResponse(source, dest, term, bool(granted))
    elif kind == 2:
        source, dest, term, prev, prev_term, entries, commit = encoded[1:]
        message = AppendEntries(source, dest, term, prev, prev_term, _decode_log(entries),
                                commit)
    else:
        source, dest, term, success, match, last, *conflict = encoded[1:]
        message = AppendEntriesResponse(source, dest, term, bool(success), match, last,
                                        *conflict)
    _remember(_decoded_messages, encoded, message)
    return message


def _decode_disk(encoded: tuple[Any, ...]) -> Persistent:
    disk = _decoded_disks.get(encoded)
    if disk is None:
        term, voted_for, log, *stored = encoded
        disk = Persistent(term, _none(voted_for), _decode_log(log)) if not stored else \
            Journal(term, _none(voted_for), _decode_log(log), stored[0])
        _remember(_decoded_disks, encoded, disk)
    return disk


def decode_node(encoded: tuple[Any, ...], node_id: int, cluster_size: int) -> Node | None:
    if not encoded:
        return None
    key = (node_id, cluster_size, encoded)
    node = _decoded_nodes.get(key)
    if node is not None:
        return node
    (role, term, voted_for, log, commit, applied, state_machine, hint, votes, next_index,
     match_index, *stored) = encoded
    candidate = None
    if votes >= 0:
        candidate = CandidateState(frozenset(i for i in range(cluster_size) if votes >> i & 1),
                                   votes >> RESPONSES_SHIFT)
    leader = LeaderState(next_index, match_index) if next_index else None
    node = Node(
        id=node_id,
        cluster_size=cluster_size,
        role=Role(role),
        persistent=_decode_disk((term, voted_for, log, *stored)),
        volatile=Volatile(commit, applied, state_machine, _none(hint)),
        candidate=candidate,
        leader=leader,
    )
    _remember(_decoded_nodes, key, node)
    return node


def decode(encoded: Encoding) -> World:
    """The world `encode` described (equal to the original; not the same objects)."""
    (nodes, disks, network, isolated, crashes, partitions, leaders, committed, applied,
     ballots, clock) = encoded
    n = len(nodes)
    history = History(
        frozenset(leaders),
        tuple(Committed(Entry(term, Put(key, value)), commit_term)
              for term, key, value, commit_term in committed),
        _decode_log(applied),
        frozenset(ballots),
    )
    return World(
        nodes=tuple([decode_node(node, i, n) for i, node in enumerate(nodes)]),
        disk=tuple([_decode_disk(disk) for disk in disks]),
        network=tuple([decode_message(message) for message in network]),
        isolated=frozenset(isolated),
        crashes=crashes,
        partitions=partitions,
        history=history,
        clock=Clock(clock[0], tuple(_none(d) for d in clock[1]), clock[2]) if clock else None,
    )
