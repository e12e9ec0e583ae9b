"""Symmetry reduction over node ids: one fingerprint for every relabelling of a state.

Servers are interchangeable: nothing in the core, the world or the properties depends on which
id a server has, only on which ids are equal. So a state and any relabelling of its node ids
(everywhere they occur: node positions, `voted_for`, `leader_hint`, the candidate's votes, the
leader's `next_index`/`match_index` order, message sources and destinations, the partition,
the history of leaders, the timers) behave alike, and the exhaustive engine needs to explore
only one of them. `canonical(world)` is the least encoding (`model.fingerprint`) over all
relabellings; two states get the same canonical encoding exactly when one is a relabelling of
the other.

The representative is only for fingerprinting: the engine keeps exploring the actual states it
generated, so every counterexample is a real trace that replays.

Trying all n! relabellings is needed only among servers that look alike: each server gets an
id-free *signature* (role, term, log, whether it voted for itself or nobody, ...), the servers
are sorted by it, and only relabellings that keep that order are tried (the product of the
factorials of the tie groups: usually one).

Partitions: `World.isolated` names one side of a split, but `connected` is symmetric in the two
sides, so the canonical form records the unordered pair of sides.

Departure: the timed world breaks ties between equal timer deadlines by node id (`min` in
`Model._tick`), so it is not symmetric; `symmetric_model` says so and the engine reduces only
untimed worlds.
"""

from __future__ import annotations

import marshal
from collections.abc import Iterator, Sequence
from itertools import pairwise, permutations, product
from typing import Any

from raftcheck.impl.types import Message, Node, Persistent
from raftcheck.model.fingerprint import (
    MARSHAL_VERSION,
    RESPONSES_SHIFT,
    decode,
    digest_bytes,
    encode,
    encode_clock,
    encode_disk,
    encode_history,
    encode_message,
    encode_node,
)
from raftcheck.model.state import Config, History, World

MAX_SYMMETRIC_NODES = 7  # 7! = 5040 relabellings of the all-alike initial state


def symmetric_model(config: Config) -> bool:
    """Whether the world `config` describes is symmetric under node relabelling (see the
    module docstring)."""
    return config.timing == "untimed" and config.cluster_size <= MAX_SYMMETRIC_NODES


def _relabellings(signatures: Sequence[Any]) -> Iterator[tuple[int, ...]]:
    """Each `order` (order[new id] = old id) that sorts the servers by signature."""
    order = sorted(range(len(signatures)), key=signatures.__getitem__)
    groups: list[list[int]] = []
    previous: Any = object()
    for old in order:
        if groups and signatures[old] == previous:
            groups[-1].append(old)
        else:
            groups.append([old])
        previous = signatures[old]
    if len(groups) == len(order):
        yield tuple(order)
        return
    for choice in product(*(permutations(group) for group in groups)):
        yield tuple(old for group in choice for old in group)


_MEMO_LIMIT = 100_000  # entries per memo before it is cleared (a BFS level apart)
Relabelled = dict[tuple[int, ...], bytes]
ServerInfo = tuple[Any, Relabelled, tuple[Any, ...], tuple[Any, ...]]
_server_memo: dict[tuple[int, int, int], tuple[Node | None, Persistent, ServerInfo]] = {}
_message_memo: dict[int, tuple[Message, tuple[Any, ...], Relabelled]] = {}


# Servers, disks and messages are shared between a state and its successors, and usually sort
# the same way in both, so their encodings, signatures and relabelled encodings are memoised
# by identity (each memo entry holds the objects, so their ids cannot be reused while it
# lives).


def _server_info(node: Node | None, disk: Persistent, owner: int) -> ServerInfo:
    """(signature, relabelled encodings by order, node encoding, disk encoding) of server
    `owner`: its id-free signature (what it is, and whether it and its disk hold a vote for
    itself or nobody), and the marshal bytes of its node (or `()` when down) followed by its
    disk, relabelled, memoised by order as they are asked for."""
    key = (id(node), id(disk), owner)
    hit = _server_memo.get(key)
    if hit is not None and hit[0] is node and hit[1] is disk:
        return hit[2]
    disk_encoded = encode_disk(disk)
    voted_for = disk_encoded[1]
    disk_signature = (disk_encoded[0], voted_for == owner, voted_for < 0, disk_encoded[2])
    if node is None:
        info: ServerInfo = (((), disk_signature), {}, (), disk_encoded)
    else:
        encoded = encode_node(node)
        votes = encoded[8]
        signature = (encoded[0], encoded[1], encoded[2] == owner, encoded[2] < 0, encoded[3],
                     encoded[4], encoded[5], encoded[6], encoded[7] == owner, encoded[7] < 0,
                     -1 if votes < 0 else votes.bit_count(), tuple(sorted(encoded[9])),
                     tuple(sorted(encoded[10])))
        info = ((signature, disk_signature), {}, encoded, disk_encoded)
    if len(_server_memo) >= _MEMO_LIMIT:
        _server_memo.clear()
    _server_memo[key] = (node, disk, info)
    return info


def _server_bytes(info: ServerInfo, new: list[int], order: tuple[int, ...],
                  identity: bool) -> bytes:
    """A server's node and disk encodings, relabelled by `new` (see `state_bytes`)."""
    _, _, node, disk = info
    voted_for = disk[1]
    relabelled_disk = disk if identity else \
        (disk[0], new[voted_for] if voted_for >= 0 else -1, *disk[2:])
    if node and not identity:
        node = _relabel_node(node, new, order)
    return marshal.dumps(node, MARSHAL_VERSION) + marshal.dumps(relabelled_disk,
                                                                MARSHAL_VERSION)


def _message_info(message: Message) -> tuple[tuple[Any, ...], Relabelled]:
    hit = _message_memo.get(id(message))
    if hit is not None and hit[0] is message:
        return hit[1], hit[2]
    encoded = encode_message(message)
    if len(_message_memo) >= _MEMO_LIMIT:
        _message_memo.clear()
    relabelled: Relabelled = {}
    _message_memo[id(message)] = (message, encoded, relabelled)
    return encoded, relabelled


def _relabel_node(node: tuple[Any, ...], new: list[int], order: tuple[int, ...]
                  ) -> tuple[Any, ...]:
    (role, term, voted_for, log, commit, applied, state_machine, hint, votes, next_index,
     match_index, *stored) = node
    if votes > 0:
        mask = votes >> RESPONSES_SHIFT << RESPONSES_SHIFT  # the response count is id-free
        for old, new_id in enumerate(new):
            if votes >> old & 1:
                mask |= 1 << new_id
        votes = mask
    if next_index:
        next_index = tuple([next_index[o] for o in order])
        match_index = tuple([match_index[o] for o in order])
    return (role, term, new[voted_for] if voted_for >= 0 else -1, log, commit, applied,
            state_machine, new[hint] if hint >= 0 else -1, votes, next_index, match_index,
            *stored)


def _orders(signatures: list[tuple[Any, ...]]) -> list[tuple[int, ...]]:
    """`_relabellings`, with the common case (no two servers alike) inline."""
    order = sorted(range(len(signatures)), key=signatures.__getitem__)
    for a, b in pairwise(order):
        if signatures[a] == signatures[b]:
            return list(_relabellings(signatures))
    return [tuple(order)]


_history_memo: dict[int, tuple[History, bytes, Relabelled]] = {}
_counters: dict[tuple[int, int, int], bytes] = {}  # few: crashes and partitions are bounded
_DOWN = marshal.dumps((), MARSHAL_VERSION)

Relabelling = tuple[tuple[int, ...], list[int], bytes]
"""(order, new, servers): order[new id] = old id, new[old id] = new id, and the servers'
relabelled node and disk bytes in the new order, concatenated."""
_servers_memo: dict[tuple[Any, ...], tuple[tuple[Any, ...], list[Relabelling]]] = {}
# Entries kept before the memo is cleared. An entry costs about 1 KB (its key, the objects
# and each relabelling's bytes). At `--max-term 3`, 300,000 states: 92 % of lookups hit with
# 100,000 entries (+69 MiB peak RSS), 88 % with 30,000 (+24 MiB), 79 % with 10,000 (+4 MiB).
_SERVERS_KEPT = 30_000


_inverses: dict[tuple[int, ...], tuple[tuple[int, ...], list[int]]] = {}


def _inverse(order: tuple[int, ...]) -> tuple[tuple[int, ...], list[int]]:
    """(order, new) with new[old id] = new id, one shared pair per order (at most n! of
    them), so that memo entries share them."""
    hit = _inverses.get(order)
    if hit is None:
        new = [0] * len(order)
        for new_id, old in enumerate(order):
            new[old] = new_id
        hit = _inverses[order] = (order, new)
    return hit


def _relabellings_of(nodes: tuple[Node | None, ...], disks: tuple[Persistent, ...],
                     reduce: bool) -> list[Relabelling]:
    """The relabellings to try for these servers (those that sort them by signature, or the
    identity) with the servers' bytes under each. Memoised by the identity of every node and
    disk: a successor usually has a combination of servers that some earlier state had (the
    core's answers are shared), whatever its messages. The entry holds the objects, so no
    other object can have their ids while it lives: a hit is the same servers."""
    key = (*map(id, nodes), *map(id, disks), reduce)
    hit = _servers_memo.get(key)
    if hit is not None:
        return hit[1]
    n = len(nodes)
    servers = [_server_info(node, disk, i)
               for i, (node, disk) in enumerate(zip(nodes, disks, strict=True))]
    identity = tuple(range(n))
    relabellings: list[Relabelling] = []
    for order in _orders([info[0] for info in servers]) if reduce else [identity]:
        order, new = _inverse(order)
        same = order == identity
        parts = []
        for old in order:
            relabelled = servers[old][1]
            server_bytes = relabelled.get(order)
            if server_bytes is None:
                server_bytes = relabelled[order] = _server_bytes(servers[old], new, order, same)
            parts.append(server_bytes)
        relabellings.append((order, new, b"".join(parts)))
    if len(_servers_memo) >= _SERVERS_KEPT:
        _servers_memo.clear()
    _servers_memo[key] = ((*nodes, *disks), relabellings)
    return relabellings


def state_bytes(world: World, reduce: bool = True) -> bytes:
    """A byte string naming `world` exactly (`reduce=False`) or naming its class under node
    relabelling (`reduce=True`): the least, over the relabellings that sort the servers by
    signature, of the concatenated marshal encodings of the relabelled parts (each part is
    self-delimiting and the bag of messages is prefixed by its size, so the concatenation is
    unambiguous). Any fixed total order would do for "least"; bytes compare fastest."""
    relabellings = _relabellings_of(world.nodes, world.disk, reduce)
    messages = [_message_info(message) for message in world.network]
    history = world.history
    hit = _history_memo.get(id(history))
    if hit is not None and hit[0] is history:
        history_bytes, ghost_relabelled = hit[1], hit[2]
    else:
        _leaders, committed, applied, _ballots = encode_history(history)
        history_bytes = marshal.dumps((committed, applied), MARSHAL_VERSION)
        ghost_relabelled = {}
        if len(_history_memo) >= _MEMO_LIMIT:
            _history_memo.clear()
        _history_memo[id(history)] = (history, history_bytes, ghost_relabelled)
    isolated = world.isolated
    clock = encode_clock(world.clock) if world.clock is not None else ()
    counted = (world.crashes, world.partitions, len(messages))
    counters = _counters.get(counted)
    if counters is None:
        counters = _counters[counted] = marshal.dumps(counted, MARSHAL_VERSION)
    best = b""
    dumps = marshal.dumps
    for order, new, servers in relabellings:
        parts = [counters, history_bytes, servers]
        network: list[bytes] = []
        for message_encoded, message_relabelled in messages:
            message_bytes = message_relabelled.get(order)
            if message_bytes is None:
                message_bytes = message_relabelled[order] = dumps(
                    (message_encoded[0], new[message_encoded[1]], new[message_encoded[2]],
                     *message_encoded[3:]), MARSHAL_VERSION)
            network.append(message_bytes)
        network.sort()
        parts.extend(network)
        ghost = ghost_relabelled.get(order)  # leaders and ballots name nodes: relabelled
        if ghost is None:
            ghost = ghost_relabelled[order] = dumps(
                (tuple(sorted([(term, new[leader]) for term, leader in history.leaders])),
                 tuple(sorted([(term, new[voter], new[candidate])
                               for term, voter, candidate in history.ballots]))),
                MARSHAL_VERSION)
        parts.append(ghost)
        if isolated:
            side = tuple(sorted([new[i] for i in isolated]))
            if reduce:  # the unordered pair of sides: `connected` cannot tell them apart
                other = tuple([i for i in range(len(new)) if i not in side])
                parts.append(dumps((side, other) if side < other else (other, side),
                                   MARSHAL_VERSION))
            else:
                parts.append(dumps(side, MARSHAL_VERSION))
        else:
            parts.append(_DOWN)
        if clock:
            parts.append(dumps((clock[0], tuple([clock[1][o] for o in order]), clock[2]),
                               MARSHAL_VERSION))
        data = b"".join(parts)
        if not best or data < best:
            best = data
    return best


def exact_fingerprint(world: World) -> int:
    """The 64-bit fingerprint of `world` itself (no reduction); agrees with nothing else but
    itself, like `model.fingerprint.fingerprint`, and is faster in a search (memoised)."""
    return digest_bytes(state_bytes(world, reduce=False))


def canonical_fingerprint(world: World) -> int:
    """The 64-bit fingerprint of `world`'s class under node relabelling."""
    return digest_bytes(state_bytes(world, reduce=True))


def relabel(world: World, new: Sequence[int]) -> World:
    """`world` with server `i` renamed `new[i]` everywhere an id occurs (a permutation of
    0..n-1). The BFS never builds relabelled states; the lasso search
    (model/search/lasso.py) expands the classes that may lie on a cycle with it, and the
    tests check with it that relabelled states share a fingerprint and behave alike."""
    n = len(world.nodes)
    if sorted(new) != list(range(n)):
        raise ValueError(f"not a permutation of 0..{n - 1}: {list(new)}")
    order = tuple(sorted(range(n), key=new.__getitem__))  # order[new id] = old id
    mapping = list(new)
    (nodes, disks, network, isolated, crashes, partitions, leaders, committed, applied,
     ballots, clock) = encode(world)
    relabelled_nodes = tuple(_relabel_node(nodes[o], mapping, order) if nodes[o] else ()
                             for o in order)
    relabelled_disks = tuple((disks[o][0], mapping[disks[o][1]] if disks[o][1] >= 0 else -1,
                              *disks[o][2:]) for o in order)
    messages = sorted((m[0], mapping[m[1]], mapping[m[2]], *m[3:]) for m in network)
    if clock:
        clock = (clock[0], tuple(clock[1][o] for o in order), clock[2])
    return decode((relabelled_nodes, relabelled_disks, tuple(messages),
                   tuple(sorted(mapping[i] for i in isolated)), crashes, partitions,
                   tuple(sorted((term, mapping[leader]) for term, leader in leaders)),
                   committed, applied,
                   tuple(sorted((term, mapping[voter], mapping[candidate])
                                for term, voter, candidate in ballots)),
                   clock))
