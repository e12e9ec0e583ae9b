"""Between the encoding's variables and `model.world.World`: a World's values as z3
constraints, a z3 model read back as a World (for printing CTIs with `model.trace` and for
running the Python core on z3-generated states), and the projection both sides are compared
on (the encoded variables only: no last_applied, state machine, leader_hint or ghost)."""

from __future__ import annotations

from itertools import chain, permutations
from typing import Any

import z3

from raftcheck.impl.types import (
    AppendEntries,
    AppendEntriesResponse,
    CandidateState,
    Entry,
    LeaderState,
    Message,
    Node,
    Persistent,
    Put,
    RequestVote,
    RequestVoteResponse,
    Role,
    Volatile,
    message_key,
)
from raftcheck.model.prove.encoding import AE, AER, RV, RVR, Msg, NodeV, Sizes, State
from raftcheck.model.world import Committed, History, World

COMMAND = Put("x", 1)  # the only command with Bounds.values=1

NodeTuple = tuple[bool, int, int, int, tuple[int, ...], int, tuple[bool, ...], tuple[int, ...],
                  tuple[int, ...]]
MsgTuple = tuple[int, int, int, int, int, int, bool, tuple[int, ...], int]
Projection = tuple[tuple[NodeTuple, ...], tuple[MsgTuple, ...]]


# ------------------------------------------------------------------------------ World side


def message_tuple(m: Message) -> MsgTuple:
    if isinstance(m, RequestVote):
        return (RV, m.source, m.dest, m.term, m.last_log_index, m.last_log_term, False, (), 0)
    if isinstance(m, RequestVoteResponse):
        return (RVR, m.source, m.dest, m.term, 0, 0, m.vote_granted, (), 0)
    if isinstance(m, AppendEntries):
        return (AE, m.source, m.dest, m.term, m.prev_log_index, m.prev_log_term, False,
                tuple(e.term for e in m.entries), m.leader_commit)
    return (AER, m.source, m.dest, m.term, m.match_index, m.last_log_index, m.success, (), 0)


def project(world: World) -> Projection:
    """The World on the encoded variables (a down node: its disk, canonical volatile)."""
    nodes: list[NodeTuple] = []
    n = len(world.nodes)
    for i, node in enumerate(world.nodes):
        p = world.persistent_of(i)
        vf = -1 if p.voted_for is None else p.voted_for
        log = tuple(e.term for e in p.log)
        if node is None:
            nodes.append((False, 0, p.current_term, vf, log, 0, (False,) * n, (0,) * n, (0,) * n))
            continue
        votes = tuple(q in node.candidate.votes_granted for q in range(n)) \
            if node.candidate is not None else (False,) * n
        nxt = node.leader.next_index if node.leader is not None else (0,) * n
        match = node.leader.match_index if node.leader is not None else (0,) * n
        nodes.append((True, int(node.role), p.current_term, vf, log, node.commit_index, votes,
                      tuple(nxt), tuple(match)))
    return tuple(nodes), tuple(sorted(message_tuple(m) for m in world.network))


def constrain(sizes: Sizes, state: State, world: World, any_order: bool = False) -> Any:
    """z3: the encoded (non-ghost) variables of `state` equal the World's. The bag goes into
    the slots in sorted order, or with `any_order` in any arrangement (a post-state's slots
    are wherever the relation put the messages)."""
    nodes, msgs = project(world)
    if len(msgs) > sizes.slots:
        raise ValueError(f"{len(msgs)} messages in flight do not fit {sizes.slots} slots")
    parts: list[Any] = []
    for v, (up, role, term, vf, log, commit, votes, nxt, match) in zip(state.nodes, nodes,
                                                                       strict=True):
        if len(log) > sizes.max_log:
            raise ValueError(f"a log of {len(log)} entries does not fit max_log={sizes.max_log}")
        padded = log + (0,) * (sizes.max_log - len(log))
        parts += [v.up == up, v.role == role, v.term == term, v.voted_for == vf,
                  v.length == len(log), v.commit == commit]
        parts += [a == b for a, b in zip(v.log, padded, strict=True)]
        parts += [a == b for a, b in zip(v.votes, votes, strict=True)]
        parts += [a == b for a, b in zip(v.next_index, nxt, strict=True)]
        parts += [a == b for a, b in zip(v.match_index, match, strict=True)]
    if any_order:
        padded_bag: list[MsgTuple | None] = [*msgs, *([None] * (sizes.slots - len(msgs)))]
        orders = sorted(set(permutations(padded_bag)), key=repr)
        parts.append(z3.Or([z3.And([slot_is(sizes, slot, m) for slot, m in
                                    zip(state.slots, order, strict=True)])
                            for order in orders]))
    else:
        for s, slot in enumerate(state.slots):
            parts.append(slot_is(sizes, slot, msgs[s] if s < len(msgs) else None))
    return z3.And(parts)


def slot_is(sizes: Sizes, slot: Msg, m: MsgTuple | None) -> Any:
    """z3: the slot holds message `m` (None: the slot is empty, all zeros)."""
    if m is None:
        return z3.And(z3.Not(slot.present), slot.kind == 0, slot.source == 0, slot.dest == 0,
                      slot.term == 0, slot.a == 0, slot.b == 0, z3.Not(slot.flag),
                      slot.length == 0, slot.leader_commit == 0,
                      *(x == 0 for x in slot.entries))
    kind, src, dst, term, a, b, flag, entries, lc = m
    padded = entries + (0,) * (sizes.max_log - len(entries))
    return z3.And(slot.present, slot.kind == kind, slot.source == src, slot.dest == dst,
                  slot.term == term, slot.a == a, slot.b == b, slot.flag == flag,
                  slot.length == len(entries), slot.leader_commit == lc,
                  *(x == y for x, y in zip(slot.entries, padded, strict=True)))


# ------------------------------------------------------------------------------ z3 side


def _int(model: z3.ModelRef, e: Any) -> int:
    return int(model.eval(e, model_completion=True).as_long())


def _bool(model: z3.ModelRef, e: Any) -> bool:
    return bool(z3.is_true(model.eval(e, model_completion=True)))


def read_node(model: z3.ModelRef, v: NodeV) -> NodeTuple:
    length = _int(model, v.length)
    log = tuple(_int(model, e) for e in v.log[:max(0, min(length, len(v.log)))])
    return (_bool(model, v.up), _int(model, v.role), _int(model, v.term),
            _int(model, v.voted_for), log, _int(model, v.commit),
            tuple(_bool(model, x) for x in v.votes),
            tuple(_int(model, x) for x in v.next_index),
            tuple(_int(model, x) for x in v.match_index))


def read_msg(model: z3.ModelRef, m: Msg) -> MsgTuple | None:
    if not _bool(model, m.present):
        return None
    length = _int(model, m.length)
    entries = tuple(_int(model, e) for e in m.entries[:max(0, min(length, len(m.entries)))])
    return (_int(model, m.kind), _int(model, m.source), _int(model, m.dest),
            _int(model, m.term), _int(model, m.a), _int(model, m.b), _bool(model, m.flag),
            entries, _int(model, m.leader_commit))


def read(model: z3.ModelRef, state: State) -> Projection:
    """A z3 model of `state` (expressions allowed) on the encoded variables."""
    nodes = tuple(read_node(model, v) for v in state.nodes)
    msgs = (read_msg(model, m) for m in state.slots)
    return nodes, tuple(sorted(m for m in msgs if m is not None))


def read_history(model: z3.ModelRef, state: State) -> History:
    g = state.ghost
    leaders = frozenset((t, p) for t, row in enumerate(g.leader) for p, x in enumerate(row)
                        if _bool(model, x))
    length = _int(model, g.committed_len)
    committed = tuple(Committed(Entry(_int(model, g.committed[x]), COMMAND),
                                _int(model, g.committed_by[x])) for x in range(length))
    return History(leaders=leaders, committed=committed)


def to_message(t: MsgTuple) -> Message:
    kind, src, dst, term, a, b, flag, entries, lc = t
    if kind == RV:
        return RequestVote(src, dst, term, a, b)
    if kind == RVR:
        return RequestVoteResponse(src, dst, term, flag)
    if kind == AE:
        return AppendEntries(src, dst, term, a, b, tuple(Entry(e, COMMAND) for e in entries), lc)
    return AppendEntriesResponse(src, dst, term, flag, a, b)


def to_world(projection: Projection, history: History | None = None) -> World:
    """The World a projection stands for (last_applied and the state machine follow the
    commit index; leader_hint None)."""
    nodes_t, msgs = projection
    n = len(nodes_t)
    nodes: list[Node | None] = []
    disk: list[Persistent] = []
    for i, (up, role, term, vf, log, commit, votes, nxt, match) in enumerate(nodes_t):
        entries = tuple(Entry(t, COMMAND) for t in log)
        persistent = Persistent(term, None if vf < 0 else vf, entries)
        disk.append(persistent)
        if not up:
            nodes.append(None)
            continue
        applied = max(0, min(commit, len(entries)))
        machine = (("x", 1),) if applied else ()
        r = Role(role) if role in (0, 1, 2) else Role.FOLLOWER
        nodes.append(Node(
            id=i, cluster_size=n, role=r, persistent=persistent,
            volatile=Volatile(commit_index=commit, last_applied=applied,
                              state_machine=machine),
            candidate=CandidateState(frozenset(q for q in range(n) if votes[q]))
            if r is Role.CANDIDATE else None,
            leader=LeaderState(tuple(nxt), tuple(match)) if r is Role.LEADER else None,
        ))
    network = tuple(sorted((to_message(m) for m in msgs), key=message_key))
    return World(nodes=tuple(nodes), disk=tuple(disk), network=network,
                 history=history or History())


def flat(projection: Projection) -> tuple[Any, ...]:
    """A hashable, printable form (for set comparisons in tests)."""
    return tuple(chain(projection[0], (projection[1],)))
