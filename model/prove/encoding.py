"""The suite's Raft world as a z3 transition relation, for bounded sizes.

A hand-written twin of `impl.raft.RaftCore` running in `model.world.Model` (docs/prove.md
argues why hand-written and how the faithfulness tests keep it honest). Sizes are bounded:
N nodes, terms ≤ T, logs ≤ L entries, and a network of K message *slots*: a bag of at most K
in-flight messages, exactly the world's `Bounds.max_messages` (a send that would overflow the
bag is not a transition, as a successor past the bound is not part of the Python model).

What is encoded, per node: up/down, role, current_term, voted_for (-1 for None), the log as
entry *terms* (commands are all `x=1`: the model's `Bounds.values=1`), commit_index, the
candidate's votes_granted, the leader's next_index/match_index. Volatile state of a down node
is reset to canonical zeros (a crash loses it; a restart starts from them), and persisted
state is the in-memory state (the bundled core persists every change). Not encoded:
last_applied, the state machine, leader_hint (nothing the core decides depends on them, apart
from the client refusal's hint), partitions (a superset: every delivery is allowed).

Ghost (history) variables, updated by every action: votes cast per (node, term), who has been
leader of which term and that leader's log, and the committed log with, per entry, the lowest
current term of any node that committed it — the single-state form of
`model.world.History` (which records the first committer's term, never a lower one, so
Leader Completeness over this ghost implies it over the History).

Every action is a `Step`: a guard over the pre-state and the post-state as expressions of it,
for one concrete argument tuple (node, slot, sender, receiver). A broken core is the same
encoding with one `Rules` entry replaced, by the same names as `impl.raft.RaftCore`'s methods.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any

import z3
from attrs import evolve, field, frozen

Expr = Any  # a z3 expression; z3 ships no type information

FOLLOWER, CANDIDATE, LEADER = 0, 1, 2
RV, RVR, AE, AER = 0, 1, 2, 3  # message kinds, as impl.types' KIND
KIND_NAMES = {RV: "RequestVote", RVR: "RequestVoteResponse", AE: "AppendEntries",
              AER: "AppendEntriesResponse"}


@frozen
class Sizes:
    """The bounds of one proof: nodes, terms ≤ max_term, logs ≤ max_log, message slots."""

    nodes: int = 3
    max_term: int = 3
    max_log: int = 3
    slots: int = 4

    def __attrs_post_init__(self) -> None:
        if not 1 <= self.nodes <= 7:
            raise ValueError(f"--nodes must be between 1 and 7, got {self.nodes}")
        if not 1 <= self.max_term <= 6:
            raise ValueError(f"--max-term must be between 1 and 6, got {self.max_term}")
        if not 1 <= self.max_log <= 6:
            raise ValueError(f"--max-log must be between 1 and 6, got {self.max_log}")
        if not self.nodes - 1 <= self.slots <= 12:
            raise ValueError(f"--slots must be between nodes-1 and 12, got {self.slots}")

    def describe(self) -> str:
        return f"{self.nodes}/{self.max_term}/{self.max_log}"


# ------------------------------------------------------------------------------ rules


@frozen
class Rules:
    """The decisions of `impl.raft.RaftCore` a zoo bug changes, over z3 terms, under the
    same names as the core's methods (`impl.broken` overrides exactly these). `name` is the
    core's name. Each field is the method's body on the encoded variables; a broken rule set
    replaces one field with the broken core's body, and `tests/prove/test_faithful.py`
    checks each against its core."""

    name: str
    quorum: Callable[[int], int]
    # (candidate's last_log_term, last_log_index, voter's last term, voter's last index)
    log_is_up_to_date: Callable[[Expr, Expr, Expr, Expr], Expr]
    may_vote_for: Callable[[Expr, Expr], Expr]  # (voted_for, candidate_id)
    # (holder's log terms, holder's log length, prev_log_index, prev_log_term)
    log_matches: Callable[[Sequence[Expr], Expr, Expr, Expr], Expr]
    may_commit: Callable[[Expr, Expr], Expr]  # (term of the entry, leader's current_term)
    # (message kind, message term, receiver's current_term): a stale message, which a
    # request rejects and a response ignores
    is_stale: Callable[[int, Expr, Expr], Expr] = field(
        default=lambda kind, term, current: term < current)
    # (node, the higher term, become_follower(node, term)) -> the node after the term rule
    on_higher_term: Callable[[NodeV, Expr, NodeV], NodeV] = field(
        default=lambda node, term, follower: follower)
    # merge_entries in closed form: (an entry conflicts, the request reaches past the log)
    # -> the log becomes log[:prev_log_index] + entries (otherwise it is left alone)
    merge_replaces: Callable[[Expr, Expr], Expr] = field(
        default=lambda conflict, extends: z3.Or(conflict, extends))
    # (commit_index, leader_commit, index of the last new entry), when leader_commit is
    # above commit_index
    follower_commit_index: Callable[[Expr, Expr, Expr], Expr] = field(
        default=lambda commit, leader_commit, last_new: _max(commit, _min(leader_commit,
                                                                          last_new)))
    # (prev_log_index + len(entries), the follower's last_log_index after the merge)
    acknowledged_index: Callable[[Expr, Expr], Expr] = field(
        default=lambda last_new, last_index: last_new)
    # (the leader's match_index for the peer, the response's match_index, the leader's
    # last_log_index)
    matched_index: Callable[[Expr, Expr, Expr], Expr] = field(
        default=lambda old, reported, last_index: _max(old, _min(reported, last_index)))
    # entries per AppendEntries (`RaftCore.max_entries_per_append`; None: the whole suffix)
    max_entries_per_append: int | None = None
    # `to_persist` seen from a restart: (node) -> (current_term, voted_for) on its disk.
    # The bundled core writes every change, so the disk is the memory; a core that leaves a
    # field out leaves what a restart reads a function of the memory (see the persistence
    # bugs below), which is why no separate disk is encoded.
    on_disk: Callable[[NodeV], tuple[Expr, Expr]] = field(
        default=lambda node: (node.term, node.voted_for))


def _max(a: Expr, b: Expr) -> Expr:
    return z3.If(a >= b, a, b)


def _min(a: Expr, b: Expr) -> Expr:
    return z3.If(a <= b, a, b)


def _up_to_date(last_term: Expr, last_index: Expr, voter_term: Expr, voter_index: Expr) -> Expr:
    return z3.If(last_term != voter_term, last_term > voter_term, last_index >= voter_index)


def _log_matches(terms: Sequence[Expr], length: Expr, prev: Expr, prev_term: Expr) -> Expr:
    return z3.Or(prev == 0, z3.And(prev <= length, term_at(terms, prev) == prev_term))


CORRECT = Rules(
    name="raft",
    quorum=lambda n: n // 2 + 1,
    log_is_up_to_date=_up_to_date,
    may_vote_for=lambda voted_for, candidate: z3.Or(voted_for == -1, voted_for == candidate),
    log_matches=_log_matches,
    may_commit=lambda entry_term, term: entry_term == term,
)


def _keep_role(node: NodeV, term: Expr, follower: NodeV) -> NodeV:
    """no-step-down-on-higher-term's `on_higher_term`: a follower becomes a follower of the
    new term; a candidate or leader adopts the term, forgets its vote, keeps everything
    else (role, votes granted, next/match index)."""
    return _ite_node(node.role == FOLLOWER, follower,
                     evolve(node, term=term, voted_for=z3.IntVal(-1)))


def _broken(name: str, **changes: Any) -> Rules:
    return evolve(CORRECT, name=name, **changes)


def _always(*_: Expr) -> Expr:
    """A check a broken core skips: it always passes."""
    return z3.BoolVal(True)


def _never(*_: Expr) -> Expr:
    return z3.BoolVal(False)


RULES: dict[str, Rules] = {rules.name: rules for rules in (
    CORRECT,
    _broken("vote-without-up-to-date-check", log_is_up_to_date=_always),
    _broken("up-to-date-by-length-only",
            log_is_up_to_date=lambda last_term, last_index, voter_term, voter_index:
            last_index >= voter_index),
    _broken("two-votes-per-term", may_vote_for=_always),
    _broken("voted-for-not-persisted", on_disk=lambda node: (node.term, z3.IntVal(-1))),
    _broken("current-term-not-persisted",
            on_disk=lambda node: (last_term(node.log, node.length), node.voted_for)),
    _broken("commit-previous-term-by-counting", may_commit=_always),
    _broken("truncate-on-stale-append", merge_replaces=_always),
    _broken("append-without-consistency-check", log_matches=_always),
    _broken("commit-to-leader-commit", max_entries_per_append=1,
            follower_commit_index=lambda commit, leader_commit, last_new:
            _max(commit, leader_commit)),
    _broken("match-index-from-leader-log",
            matched_index=lambda old, reported, last_index: last_index),
    _broken("ack-beyond-request", acknowledged_index=lambda last_new, last_index: last_index),
    _broken("accept-stale-term-append",
            is_stale=lambda kind, term, current: _never() if kind == AE else term < current),
    _broken("act-on-stale-responses",
            is_stale=lambda kind, term, current:
            _never() if kind in (RVR, AER) else term < current),
    _broken("no-step-down-on-higher-term", on_higher_term=_keep_role),
    _broken("quorum-off-by-one", quorum=lambda n: n // 2),
)}
"""The correct rules and every zoo bug the encoding can express, by core name."""

NOT_ENCODED: dict[str, str] = {
    "count-duplicate-votes": "it needs a duplicated RequestVoteResponse, and the encoded "
                             "world has no duplication (duplicate=False): without it each "
                             "voter answers a RequestVote once, so the bug's counter equals "
                             "the correct set of voters and there is nothing to find",
}
"""Zoo bugs the encoding cannot express, with the reason (`raftcheck prove --core` says it)."""


# ------------------------------------------------------------------------------ state


def ite_index(values: Sequence[Expr], index: Expr, default: Expr) -> Expr:
    """values[index] for a symbolic index (default when out of range)."""
    out = default
    for k in reversed(range(len(values))):
        out = z3.If(index == k, values[k], out)
    return out


def term_at(terms: Sequence[Expr], index: Expr) -> Expr:
    """The term of the entry at 1-based `index` (0 for index 0, as the core's prev_log_term)."""
    return ite_index(terms, index - 1, z3.IntVal(0))


def last_term(terms: Sequence[Expr], length: Expr) -> Expr:
    return z3.If(length == 0, 0, term_at(terms, length))


@frozen
class NodeV:
    """One node's encoded variables (expressions, so a post-state is built from a pre-state)."""

    up: Expr
    role: Expr
    term: Expr
    voted_for: Expr
    length: Expr
    log: tuple[Expr, ...]
    commit: Expr
    votes: tuple[Expr, ...]
    next_index: tuple[Expr, ...]
    match_index: tuple[Expr, ...]


@frozen
class Msg:
    """One message slot. Fields a kind does not use are 0; an empty slot is all zeros.
    `a`/`b`: RequestVote last_log_index/last_log_term, AppendEntries prev_log_index/
    prev_log_term, AppendEntriesResponse match_index/last_log_index (the hint). `flag`:
    vote_granted or success."""

    present: Expr
    kind: Expr
    source: Expr
    dest: Expr
    term: Expr
    a: Expr
    b: Expr
    flag: Expr
    length: Expr  # number of entries (AppendEntries)
    entries: tuple[Expr, ...]
    leader_commit: Expr


@frozen
class Ghost:
    """History variables. `vote[i][t]`: whom node i voted for in term t (-1 none);
    `leader[t][i]`: node i was elected in term t; `leader_log[t]`: the log of term t's
    leader (its length in `leader_len[t]`); the committed log (`committed_len`, entry terms,
    and the current term of the node that first committed each entry); `electors[t][i]`:
    node i's vote for term t's leader had been cast when it was elected (a vote granted
    later, by a RequestVote delivered late, is not among them)."""

    vote: tuple[tuple[Expr, ...], ...]
    leader: tuple[tuple[Expr, ...], ...]
    leader_len: tuple[Expr, ...]
    leader_log: tuple[tuple[Expr, ...], ...]
    committed_len: Expr
    committed: tuple[Expr, ...]
    committed_by: tuple[Expr, ...]
    electors: tuple[tuple[Expr, ...], ...]


@frozen
class State:
    nodes: tuple[NodeV, ...]
    slots: tuple[Msg, ...]
    ghost: Ghost


def fresh_state(sizes: Sizes, prefix: str = "") -> State:
    """A state of fresh z3 constants, named so that a model reads like the state."""
    n, t, length, k = sizes.nodes, sizes.max_term, sizes.max_log, sizes.slots

    def i(name: str) -> Expr:
        return z3.Int(prefix + name)

    def b(name: str) -> Expr:
        return z3.Bool(prefix + name)

    nodes = tuple(NodeV(
        up=b(f"up{p}"), role=i(f"role{p}"), term=i(f"term{p}"), voted_for=i(f"voted_for{p}"),
        length=i(f"len{p}"), log=tuple(i(f"log{p}_{x}") for x in range(length)),
        commit=i(f"commit{p}"), votes=tuple(b(f"votes{p}_{q}") for q in range(n)),
        next_index=tuple(i(f"next{p}_{q}") for q in range(n)),
        match_index=tuple(i(f"match{p}_{q}") for q in range(n)),
    ) for p in range(n))
    slots = tuple(Msg(
        present=b(f"m{s}"), kind=i(f"m{s}_kind"), source=i(f"m{s}_src"), dest=i(f"m{s}_dst"),
        term=i(f"m{s}_term"), a=i(f"m{s}_a"), b=i(f"m{s}_b"), flag=b(f"m{s}_flag"),
        length=i(f"m{s}_len"), entries=tuple(i(f"m{s}_e{x}") for x in range(length)),
        leader_commit=i(f"m{s}_commit"),
    ) for s in range(k))
    ghost = Ghost(
        vote=tuple(tuple(i(f"g_vote{p}_{tt}") for tt in range(t + 1)) for p in range(n)),
        leader=tuple(tuple(b(f"g_leader{tt}_{p}") for p in range(n)) for tt in range(t + 1)),
        leader_len=tuple(i(f"g_llen{tt}") for tt in range(t + 1)),
        leader_log=tuple(tuple(i(f"g_llog{tt}_{x}") for x in range(length))
                         for tt in range(t + 1)),
        committed_len=i("g_clen"),
        committed=tuple(i(f"g_clog{x}") for x in range(length)),
        committed_by=tuple(i(f"g_cby{x}") for x in range(length)),
        electors=tuple(tuple(b(f"g_elector{tt}_{p}") for p in range(n)) for tt in range(t + 1)),
    )
    return State(nodes, slots, ghost)


def empty_msg(length: int) -> Msg:
    zero = z3.IntVal(0)
    return Msg(z3.BoolVal(False), zero, zero, zero, zero, zero, zero, z3.BoolVal(False), zero,
               (zero,) * length, zero)


def message(sizes: Sizes, kind: int, source: Expr, dest: Expr, term: Expr, a: Expr = 0,
            b: Expr = 0, flag: Expr = False, length: Expr = 0,
            entries: Sequence[Expr] | None = None, leader_commit: Expr = 0) -> Msg:
    def iv(value: Expr) -> Expr:
        return z3.IntVal(value) if isinstance(value, int) else value

    ents = tuple(iv(e) for e in entries) if entries is not None else (z3.IntVal(0),) * \
        sizes.max_log
    return Msg(z3.BoolVal(True), z3.IntVal(kind), iv(source), iv(dest), iv(term), iv(a), iv(b),
               z3.BoolVal(flag) if isinstance(flag, bool) else flag, iv(length), ents,
               iv(leader_commit))


def initial(sizes: Sizes, state: State) -> Expr:
    """Every node up, a follower at term 0 with no vote and an empty log; nothing in flight;
    empty history (`Model.initial_state`)."""
    parts: list[Expr] = []
    for node in state.nodes:
        parts += [node.up, node.role == FOLLOWER, node.term == 0, node.voted_for == -1,
                  node.length == 0, node.commit == 0]
        parts += [e == 0 for e in node.log]
        parts += [z3.Not(v) for v in node.votes]
        parts += [x == 0 for x in chain(node.next_index, node.match_index)]
    for slot in state.slots:
        parts += _msg_equal(slot, empty_msg(sizes.max_log))
    g = state.ghost
    parts += [v == -1 for row in g.vote for v in row]
    parts += [z3.Not(x) for row in g.leader for x in row]
    parts += [x == 0 for x in g.leader_len]
    parts += [x == 0 for row in g.leader_log for x in row]
    parts += [g.committed_len == 0] + [x == 0 for x in chain(g.committed, g.committed_by)]
    parts += [z3.Not(x) for row in g.electors for x in row]
    return z3.And(parts)


def _msg_equal(x: Msg, y: Msg) -> list[Expr]:
    return [x.present == y.present, x.kind == y.kind, x.source == y.source, x.dest == y.dest,
            x.term == y.term, x.a == y.a, x.b == y.b, x.flag == y.flag, x.length == y.length,
            *(p == q for p, q in zip(x.entries, y.entries, strict=True)),
            x.leader_commit == y.leader_commit]


def state_equal(x: State, y: State) -> Expr:
    """x == y on every variable, ghost included."""
    parts: list[Expr] = []
    for p, q in zip(x.nodes, y.nodes, strict=True):
        parts += [p.up == q.up, p.role == q.role, p.term == q.term,
                  p.voted_for == q.voted_for, p.length == q.length, p.commit == q.commit]
        parts += [a == b for a, b in zip(p.log, q.log, strict=True)]
        parts += [a == b for a, b in zip(p.votes, q.votes, strict=True)]
        parts += [a == b for a, b in zip(p.next_index, q.next_index, strict=True)]
        parts += [a == b for a, b in zip(p.match_index, q.match_index, strict=True)]
    for a, b in zip(x.slots, y.slots, strict=True):
        parts += _msg_equal(a, b)
    parts += [a == b for a, b in zip(_ghost_vars(x.ghost), _ghost_vars(y.ghost), strict=True)]
    return z3.And(parts)


def _ghost_vars(g: Ghost) -> list[Expr]:
    return [*chain.from_iterable(g.vote), *chain.from_iterable(g.leader), *g.leader_len,
            *chain.from_iterable(g.leader_log), g.committed_len, *g.committed, *g.committed_by,
            *chain.from_iterable(g.electors)]


# ------------------------------------------------------------------------------ the core


Sends = list[tuple[Expr, Msg]]  # (sent?, message)


class Core:
    """The twin of `RaftCore`'s handlers over one node's expressions."""

    def __init__(self, sizes: Sizes, rules: Rules) -> None:
        self.sizes = sizes
        self.rules = rules
        self.quorum = rules.quorum(sizes.nodes)

    # -- helpers
    def _zeros(self) -> tuple[Expr, ...]:
        return (z3.IntVal(0),) * self.sizes.nodes

    def _no_votes(self) -> tuple[Expr, ...]:
        return (z3.BoolVal(False),) * self.sizes.nodes

    def become_follower(self, node: NodeV, term: Expr) -> NodeV:
        """§5.1: adopt the higher term, no vote in it yet, follower (candidate and leader
        state dropped)."""
        return evolve(node, role=z3.IntVal(FOLLOWER), term=term, voted_for=z3.IntVal(-1),
                      votes=self._no_votes(), next_index=self._zeros(),
                      match_index=self._zeros())

    def advance_commit_index(self, node: NodeV) -> NodeV:
        """The highest N > commit_index with may_commit(N) and a quorum of match_index ≥ N."""
        new = node.commit
        for index in range(1, self.sizes.max_log + 1):
            count = z3.Sum([z3.If(m >= index, 1, 0) for m in node.match_index])
            ok = z3.And(index > node.commit, index <= node.length,
                        self.rules.may_commit(node.log[index - 1], node.term),
                        count >= self.quorum)
            new = z3.If(ok, index, new)
        return evolve(node, commit=new)

    def append_entries_to(self, node: NodeV, me: int, peer: int) -> Msg:
        """Everything from next_index[peer] on, anchored by the entry before it."""
        prev = node.next_index[peer] - 1
        count = node.length - prev
        limit = self.rules.max_entries_per_append
        if limit is not None:
            count = _min(count, z3.IntVal(limit))
        entries = tuple(z3.If(prev + o < node.length if limit is None else o < count,
                              ite_index(node.log, prev + o, 0), 0)
                        for o in range(self.sizes.max_log))
        return message(self.sizes, AE, me, peer, node.term, prev,
                       z3.If(prev > 0, term_at(node.log, prev), 0), False,
                       count, entries, node.commit)

    def to_all(self, node: NodeV, me: int, guard: Expr) -> Sends:
        return [(guard, self.append_entries_to(node, me, p))
                for p in range(self.sizes.nodes) if p != me]

    def become_leader(self, node: NodeV, me: int) -> NodeV:
        n = self.sizes.nodes
        node = evolve(node, role=z3.IntVal(LEADER), votes=self._no_votes(),
                      next_index=(node.length + 1,) * n,
                      match_index=tuple(node.length if p == me else z3.IntVal(0)
                                        for p in range(n)))
        return self.advance_commit_index(node)

    # -- events
    def on_election_timeout(self, node: NodeV, me: int) -> tuple[NodeV, Sends]:
        """become_candidate: term+1, vote for self, RequestVote to every peer (or, when the
        quorum is one, straight to leader)."""
        n = self.sizes.nodes
        node = evolve(node, role=z3.IntVal(CANDIDATE), term=node.term + 1,
                      voted_for=z3.IntVal(me),
                      votes=tuple(z3.BoolVal(p == me) for p in range(n)),
                      next_index=self._zeros(), match_index=self._zeros())
        if self.quorum <= 1:
            node = self.become_leader(node, me)
            return node, self.to_all(node, me, z3.BoolVal(True))
        last = last_term(node.log, node.length)
        return node, [(z3.BoolVal(True), message(self.sizes, RV, me, p, node.term, node.length,
                                                 last)) for p in range(n) if p != me]

    def on_client_request(self, node: NodeV, me: int) -> NodeV:
        log = tuple(z3.If(node.length == x, node.term, e) for x, e in enumerate(node.log))
        length = node.length + 1
        match = tuple(length if p == me else m for p, m in enumerate(node.match_index))
        return self.advance_commit_index(evolve(node, log=log, length=length,
                                                match_index=match))

    def handle(self, node: NodeV, me: int, m: Msg, kind: int, src: int) -> tuple[NodeV, Sends]:
        """`step` on a message: the term rule first, then the kind's handler."""
        higher = self.rules.on_higher_term(node, m.term, self.become_follower(node, m.term))
        node = _ite_node(m.term > node.term, higher, node)
        if kind == RV:
            return self.handle_request_vote(node, me, m, src)
        if kind == RVR:
            return self.handle_request_vote_response(node, me, m, src)
        if kind == AE:
            return self.handle_append_entries(node, me, m, src)
        return self.handle_append_entries_response(node, me, m, src)

    def handle_request_vote(self, node: NodeV, me: int, m: Msg, src: int
                            ) -> tuple[NodeV, Sends]:
        granted = z3.And(m.term == node.term, self.rules.may_vote_for(node.voted_for, src),
                         self.rules.log_is_up_to_date(m.b, m.a, last_term(node.log, node.length),
                                                      node.length))
        node = evolve(node, voted_for=z3.If(granted, src, node.voted_for))
        return node, [(z3.BoolVal(True), message(self.sizes, RVR, me, src, node.term,
                                                 flag=granted))]

    def handle_request_vote_response(self, node: NodeV, me: int, m: Msg, src: int
                                     ) -> tuple[NodeV, Sends]:
        counts = z3.And(z3.Not(self.rules.is_stale(RVR, m.term, node.term)),
                        node.role == CANDIDATE, m.flag)
        votes = tuple(z3.Or(v, z3.And(counts, p == src)) if p == src else v
                      for p, v in enumerate(node.votes))
        voted = evolve(node, votes=votes)
        wins = z3.And(counts, z3.Sum([z3.If(v, 1, 0) for v in votes]) >= self.quorum)
        leader = self.become_leader(voted, me)
        return _ite_node(wins, leader, voted), self.to_all(leader, me, wins)

    def handle_append_entries(self, node: NodeV, me: int, m: Msg, src: int
                              ) -> tuple[NodeV, Sends]:
        stale = self.rules.is_stale(AE, m.term, node.term)
        reject_stale = message(self.sizes, AER, me, src, node.term, 0, node.length)
        follower = evolve(node, role=z3.IntVal(FOLLOWER), votes=self._no_votes(),
                          next_index=self._zeros(), match_index=self._zeros())
        prev = m.a
        matches = self.rules.log_matches(follower.log, follower.length, prev, m.b)
        reject = message(self.sizes, AER, me, src, node.term, 0,
                         z3.If(follower.length < prev - 1, follower.length, prev - 1))
        # rules 3-4 (merge_entries) in closed form: when any entry conflicts, or the request
        # reaches past the log, the log becomes log[:base] + entries, where base is
        # prev_log_index (or the log's end, when a broken consistency check lets prev exceed
        # it: the loop then appends at the end). Otherwise the log is unchanged. Proven equal
        # to the loop by `helpers_equiv` (entries compared by term: commands are all x=1).
        base = z3.If(prev >= follower.length, follower.length, prev)
        conflict = z3.Or([z3.And(o < m.length, prev + o < follower.length,
                                 ite_index(follower.log, prev + o, 0) != m.entries[o])
                          for o in range(self.sizes.max_log)])
        replace = self.rules.merge_replaces(conflict, base + m.length > follower.length)
        new_log = tuple(z3.If(replace,
                              z3.If(x < base, e,
                                    z3.If(x < base + m.length, ite_index(m.entries, x - base, 0),
                                          0)),
                              e) for x, e in enumerate(follower.log))
        new_len = z3.If(replace, base + m.length, follower.length)
        last_new = prev + m.length
        commit = z3.If(m.leader_commit > follower.commit,
                       self.rules.follower_commit_index(follower.commit, m.leader_commit,
                                                        last_new),
                       follower.commit)
        accepted = evolve(follower, log=new_log, length=new_len, commit=commit)
        ok = message(self.sizes, AER, me, src, node.term,
                     self.rules.acknowledged_index(last_new, new_len), new_len, True)
        out = _ite_node(stale, node, _ite_node(matches, accepted, follower))
        reply = _ite_msg(stale, reject_stale, _ite_msg(matches, ok, reject))
        return out, [(z3.BoolVal(True), reply)]

    def handle_append_entries_response(self, node: NodeV, me: int, m: Msg, src: int
                                       ) -> tuple[NodeV, Sends]:
        counts = z3.And(z3.Not(self.rules.is_stale(AER, m.term, node.term)),
                        node.role == LEADER)
        old_match, old_next = node.match_index[src], node.next_index[src]
        match = self.rules.matched_index(old_match, m.a, node.length)
        nxt = z3.If(old_next > match + 1, old_next, match + 1)
        success = self.advance_commit_index(evolve(
            node, next_index=_put(node.next_index, src, nxt),
            match_index=_put(node.match_index, src, match)))
        back = z3.If(old_next - 1 < m.b + 1, old_next - 1, m.b + 1)
        back = z3.If(old_match + 1 > back, old_match + 1, back)
        failure = evolve(node, next_index=_put(node.next_index, src, back))
        out = _ite_node(counts, _ite_node(m.flag, success, failure), node)
        retry = self.append_entries_to(failure, me, src)
        return out, [(z3.And(counts, z3.Not(m.flag)), retry)]


def _put(values: tuple[Expr, ...], index: int, value: Expr) -> tuple[Expr, ...]:
    return (*values[:index], value, *values[index + 1:])


def _ite_node(cond: Expr, yes: NodeV, no: NodeV) -> NodeV:
    def pick(a: Expr, b: Expr) -> Expr:
        return a if a is b else z3.If(cond, a, b)

    return NodeV(pick(yes.up, no.up), pick(yes.role, no.role), pick(yes.term, no.term),
                 pick(yes.voted_for, no.voted_for), pick(yes.length, no.length),
                 tuple(pick(a, b) for a, b in zip(yes.log, no.log, strict=True)),
                 pick(yes.commit, no.commit),
                 tuple(pick(a, b) for a, b in zip(yes.votes, no.votes, strict=True)),
                 tuple(pick(a, b) for a, b in zip(yes.next_index, no.next_index, strict=True)),
                 tuple(pick(a, b) for a, b in zip(yes.match_index, no.match_index,
                                                  strict=True)))


def _ite_msg(cond: Expr, yes: Msg, no: Msg) -> Msg:
    def pick(a: Expr, b: Expr) -> Expr:
        return a if a is b else z3.If(cond, a, b)

    return Msg(pick(yes.present, no.present), pick(yes.kind, no.kind),
               pick(yes.source, no.source), pick(yes.dest, no.dest), pick(yes.term, no.term),
               pick(yes.a, no.a), pick(yes.b, no.b), pick(yes.flag, no.flag),
               pick(yes.length, no.length),
               tuple(pick(a, b) for a, b in zip(yes.entries, no.entries, strict=True)),
               pick(yes.leader_commit, no.leader_commit))


# ------------------------------------------------------------------------------ the world


@frozen
class Step:
    """One action with concrete arguments: enabled when `guard` holds, leading to `post`.
    `kind` names the action as the proof reports it; `args` are (node,) or (slot, dest,
    source) or (slot,)."""

    kind: str
    args: tuple[int, ...]
    guard: Expr
    post: State


ACTION_KINDS = ("Timeout", "Heartbeat", "Submit", "Deliver(RequestVote)",
                "Deliver(RequestVoteResponse)", "Deliver(AppendEntries)",
                "Deliver(AppendEntriesResponse)", "Drop", "Crash", "Restart")
DELIVER_KIND = {RV: "Deliver(RequestVote)", RVR: "Deliver(RequestVoteResponse)",
                AE: "Deliver(AppendEntries)", AER: "Deliver(AppendEntriesResponse)"}


class Encoding:
    """The transition relation of `Model(core, Config(N), Bounds(max_term=T, max_log=L,
    values=1, max_messages=K, max_crashes=None, max_partitions=0, drop=True,
    duplicate=False))`, one `Step` per action and argument tuple."""

    def __init__(self, sizes: Sizes, rules: Rules = CORRECT) -> None:
        self.sizes = sizes
        self.rules = rules
        self.core = Core(sizes, rules)
        self._cache: dict[tuple[str, bool], tuple[State, list[Step]]] = {}

    def cached_steps(self, prefix: str = "pre_", symmetric: bool = False
                     ) -> tuple[State, list[Step]]:
        """A pre-state of fresh constants and its steps, built once (building the formulas
        costs seconds; every check reuses them)."""
        key = (prefix, symmetric)
        if key not in self._cache:
            pre = fresh_state(self.sizes, prefix)
            self._cache[key] = (pre, self.steps(pre, symmetric))
        return self._cache[key]

    def steps(self, pre: State, symmetric: bool = False) -> list[Step]:
        """Every action. With `symmetric`, only one representative per orbit under node and
        slot permutations (node 0 acts; slot 0 is delivered, from node 1 to node 0): enough
        for consecution, since the invariant is symmetric under both (docs/prove.md)."""
        n, k = self.sizes.nodes, self.sizes.slots
        nodes = [0] if symmetric else list(range(n))
        slots = [0] if symmetric else list(range(k))
        out: list[Step] = []
        for i in nodes:
            out.append(self.timeout(pre, i))
            out.append(self.heartbeat(pre, i))
            out.append(self.submit(pre, i))
        for kind in (RV, RVR, AE, AER):
            for s in slots:
                for d in nodes:
                    for src in range(n):
                        if src != d and (not symmetric or src == 1):
                            out.append(self.deliver(pre, s, d, src, kind))
        for s in slots:
            out.append(self.drop(pre, s))
        for i in nodes:
            out.append(self.crash(pre, i))
            out.append(self.restart(pre, i))
        return out

    # -- the actions
    def timeout(self, pre: State, i: int) -> Step:
        node = pre.nodes[i]
        guard = z3.And(node.up, node.role != LEADER, node.term < self.sizes.max_term)
        after, sends = self.core.on_election_timeout(node, i)
        return self._finish("Timeout", (i,), pre, guard, i, after, pre.slots, sends)

    def heartbeat(self, pre: State, i: int) -> Step:
        node = pre.nodes[i]
        guard = z3.And(node.up, node.role == LEADER)
        return self._finish("Heartbeat", (i,), pre, guard, i, node, pre.slots,
                            self.core.to_all(node, i, z3.BoolVal(True)))

    def submit(self, pre: State, i: int) -> Step:
        node = pre.nodes[i]
        guard = z3.And(node.up, node.role == LEADER, node.length < self.sizes.max_log)
        return self._finish("Submit", (i,), pre, guard, i, self.core.on_client_request(node, i),
                            pre.slots, [])

    def deliver(self, pre: State, s: int, d: int, src: int, kind: int) -> Step:
        m = pre.slots[s]
        node = pre.nodes[d]
        guard = z3.And(m.present, m.kind == kind, m.dest == d, m.source == src, node.up)
        slots = _put_msg(pre.slots, s, empty_msg(self.sizes.max_log))
        after, sends = self.core.handle(node, d, m, kind, src)
        return self._finish(DELIVER_KIND[kind], (s, d, src), pre, guard, d, after, slots, sends)

    def drop(self, pre: State, s: int) -> Step:
        slots = _put_msg(pre.slots, s, empty_msg(self.sizes.max_log))
        return Step("Drop", (s,), pre.slots[s].present, evolve(pre, slots=slots))

    def crash(self, pre: State, i: int) -> Step:
        node = pre.nodes[i]
        term, voted_for = self.rules.on_disk(node)  # what a restart reads
        down = evolve(self.core.become_follower(node, term), up=z3.BoolVal(False),
                      voted_for=voted_for, commit=z3.IntVal(0))
        return Step("Crash", (i,), node.up, evolve(pre, nodes=_put_node(pre.nodes, i, down)))

    def restart(self, pre: State, i: int) -> Step:
        node = pre.nodes[i]
        return Step("Restart", (i,), z3.Not(node.up),
                    evolve(pre, nodes=_put_node(pre.nodes, i, evolve(node, up=z3.BoolVal(True)))))

    # -- effects: send into free slots, record history
    def _finish(self, kind: str, args: tuple[int, ...], pre: State, guard: Expr, i: int,
                after: NodeV, slots: tuple[Msg, ...], sends: Sends) -> Step:
        free = [z3.Not(m.present) for m in slots]
        capacity = z3.Sum([z3.If(f, 1, 0) for f in free]) if free else z3.IntVal(0)
        wanted = z3.Sum([z3.If(g, 1, 0) for g, _ in sends]) if sends else z3.IntVal(0)
        new_slots = list(slots)
        for s, slot in enumerate(slots):
            rank = z3.Sum([z3.If(f, 1, 0) for f in free[:s]]) if s else z3.IntVal(0)
            chosen = empty_msg(self.sizes.max_log)
            for number in reversed(range(len(sends))):
                sent, msg = sends[number]
                position = (z3.Sum([z3.If(g, 1, 0) for g, _ in sends[:number]]) if number
                            else z3.IntVal(0))
                chosen = _ite_msg(z3.And(sent, position == rank), msg, chosen)
            new_slots[s] = _ite_msg(free[s], chosen, slot) if sends else slot
        nodes = _put_node(pre.nodes, i, after)
        ghost = self._record(pre.ghost, pre.nodes[i], after, i)
        post = State(nodes, tuple(new_slots), ghost)
        return Step(kind, args, z3.And(guard, wanted <= capacity), post)

    def _record(self, g: Ghost, before: NodeV, after: NodeV, i: int) -> Ghost:
        """`model.world.record_history`, plus the votes cast (voted_for set in a term)."""
        t_max, length = self.sizes.max_term, self.sizes.max_log
        vote = tuple(
            tuple(z3.If(z3.And(after.term == t, after.voted_for != -1), after.voted_for, v)
                  if p == i else v for t, v in enumerate(row))
            for p, row in enumerate(g.vote))
        leads = [z3.And(after.role == LEADER, after.term == t) for t in range(t_max + 1)]
        leader = tuple(tuple(z3.Or(x, leads[t]) if p == i else x for p, x in enumerate(row))
                       for t, row in enumerate(g.leader))
        # elected in this step: the votes recorded for it so far are its electors
        elected = [z3.And(leads[t], z3.Not(g.leader[t][i])) for t in range(t_max + 1)]
        electors = tuple(tuple(z3.If(elected[t], vote[p][t] == i, x) for p, x in enumerate(row))
                         for t, row in enumerate(g.electors))
        leader_len = tuple(z3.If(leads[t], after.length, x) for t, x in enumerate(g.leader_len))
        leader_log = tuple(tuple(z3.If(leads[t], after.log[x], e) for x, e in enumerate(row))
                           for t, row in enumerate(g.leader_log))
        upto = z3.If(after.commit < after.length, after.commit, after.length)
        grows = upto > g.committed_len
        committed = tuple(z3.If(z3.And(grows, x >= g.committed_len, x < upto), after.log[x], e)
                          for x, e in enumerate(g.committed))
        # the *lowest* current term of any node that has committed the entry (the paper's
        # "committed in term t"; `History` keeps the first committer's, which is never lower)
        committed_by = tuple(z3.If(z3.And(grows, x >= g.committed_len, x < upto), after.term,
                                   z3.If(z3.And(x < upto, after.term < e), after.term, e))
                             for x, e in enumerate(g.committed_by))
        del length
        return Ghost(vote, leader, leader_len, leader_log, z3.If(grows, upto, g.committed_len),
                     committed, committed_by, electors)


def _put_msg(slots: tuple[Msg, ...], s: int, m: Msg) -> tuple[Msg, ...]:
    return (*slots[:s], m, *slots[s + 1:])


def _put_node(nodes: tuple[NodeV, ...], i: int, node: NodeV) -> tuple[NodeV, ...]:
    return (*nodes[:i], node, *nodes[i + 1:])
