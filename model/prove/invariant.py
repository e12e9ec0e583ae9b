"""The invariant: Figure 3's properties plus the auxiliary lemmas that try to make them
inductive, each with a name, a plain-words statement and its z3 form.

A state lemma is a function of one `State`; a transition lemma (Leader Append-Only, the one
Figure 3 property about steps) a function of (pre, post). Lemmas quantify uniformly over
nodes, terms and message slots, so the invariant is symmetric under node and slot
permutations — what lets `Encoding.steps(symmetric=True)` check one representative action
per orbit. Names of Figure 3 properties are exactly those in `properties.safety`.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations

import z3
from attrs import frozen

from raftcheck.model.prove.encoding import (
    AE,
    AER,
    CANDIDATE,
    LEADER,
    RV,
    RVR,
    Expr,
    Msg,
    NodeV,
    Sizes,
    State,
    ite_index,
    last_term,
)
from raftcheck.properties.safety import (
    COMMIT_WITHIN_LOG,
    ELECTION_SAFETY,
    LEADER_APPEND_ONLY,
    LEADER_COMPLETENESS,
    LOG_MATCHING,
    STATE_MACHINE_SAFETY,
)

Context = tuple[Sizes, int]  # sizes and the quorum


@frozen
class Lemma:
    name: str
    statement: str
    figure3: bool
    holds: Callable[[Context, State], Expr] | None = None
    step: Callable[[Context, State, State], Expr] | None = None  # transition lemmas

    def formula(self, ctx: Context, pre: State, post: State | None = None) -> Expr:
        """Without `post`: the lemma on `pre` (True for a transition lemma, as in
        initiation). With it: a state lemma on `post`, a transition lemma on (pre, post)."""
        if self.holds is not None:
            return self.holds(ctx, pre if post is None else post)
        assert self.step is not None
        return z3.BoolVal(True) if post is None else self.step(ctx, pre, post)


def _all(parts: list[Expr]) -> Expr:
    return z3.And(parts) if parts else z3.BoolVal(True)


def _in(x: Expr, low: int, high: int) -> Expr:
    return z3.And(x >= low, x <= high)


def _logs(s: State) -> list[tuple[Expr, tuple[Expr, ...]]]:
    return [(v.length, v.log) for v in s.nodes]


def _is_leader(v: NodeV) -> Expr:
    return z3.And(v.up, v.role == LEADER)


def _some_leader(s: State, t: int) -> Expr:
    return z3.Or(list(s.ghost.leader[t]))


# ------------------------------------------------------------------------------ domain


def node_domain(ctx: Context, s: State) -> Expr:
    sizes, _ = ctx
    n, t_max, length = sizes.nodes, sizes.max_term, sizes.max_log
    parts: list[Expr] = []
    for v in s.nodes:
        parts += [_in(v.role, 0, 2), _in(v.term, 0, t_max), _in(v.voted_for, -1, n - 1),
                  _in(v.length, 0, length), _in(v.commit, 0, length)]
        for x, e in enumerate(v.log):
            parts.append(z3.If(x < v.length, _in(e, 1, t_max), e == 0))
        leader, candidate = _is_leader(v), z3.And(v.up, v.role == CANDIDATE)
        parts += [z3.Implies(z3.Not(candidate), z3.Not(b)) for b in v.votes]
        parts += [z3.Implies(z3.Not(leader), x == 0) for x in v.next_index + v.match_index]
        parts.append(z3.Implies(z3.Not(v.up), z3.And(v.role == 0, v.commit == 0)))
    return _all(parts)


def _msg_domain(sizes: Sizes, m: Msg) -> Expr:
    n, t_max, length = sizes.nodes, sizes.max_term, sizes.max_log
    zero_entries = [e == 0 for e in m.entries]
    empty = z3.And(m.kind == 0, m.source == 0, m.dest == 0, m.term == 0, m.a == 0, m.b == 0,
                   z3.Not(m.flag), m.length == 0, m.leader_commit == 0, *zero_entries)
    common = z3.And(_in(m.source, 0, n - 1), _in(m.dest, 0, n - 1), m.source != m.dest,
                    _in(m.term, 1, t_max))
    rv = z3.And(_in(m.a, 0, length), _in(m.b, 0, t_max), z3.Not(m.flag), m.length == 0,
                m.leader_commit == 0, *zero_entries)
    rvr = z3.And(m.a == 0, m.b == 0, m.length == 0, m.leader_commit == 0, *zero_entries)
    ae = z3.And(m.a >= 0, m.length >= 0, m.a + m.length <= length, _in(m.b, 0, t_max),
                z3.Not(m.flag), _in(m.leader_commit, 0, length),
                *(z3.If(x < m.length, _in(e, 1, t_max), e == 0)
                  for x, e in enumerate(m.entries)))
    aer = z3.And(_in(m.a, 0, length), _in(m.b, 0, length), m.length == 0,
                 m.leader_commit == 0, *zero_entries)
    kinds = z3.Or(z3.And(m.kind == RV, rv), z3.And(m.kind == RVR, rvr),
                  z3.And(m.kind == AE, ae), z3.And(m.kind == AER, aer))
    return z3.If(m.present, z3.And(common, kinds), empty)


def message_domain(ctx: Context, s: State) -> Expr:
    return _all([_msg_domain(ctx[0], m) for m in s.slots])


def ghost_domain(ctx: Context, s: State) -> Expr:
    sizes, _ = ctx
    n, t_max, length = sizes.nodes, sizes.max_term, sizes.max_log
    g = s.ghost
    parts: list[Expr] = []
    for row in g.vote:
        parts.append(row[0] == -1)
        parts += [_in(v, -1, n - 1) for v in row]
    parts += [z3.Not(x) for x in g.leader[0]]
    for t in range(t_max + 1):
        parts += [z3.Implies(z3.Not(_some_leader(s, t)), z3.Not(x)) for x in g.electors[t]]
    for t in range(t_max + 1):
        parts.append(_in(g.leader_len[t], 0, length))
        parts.append(z3.Implies(z3.Not(_some_leader(s, t)), g.leader_len[t] == 0))
        for x, e in enumerate(g.leader_log[t]):
            parts.append(z3.If(x < g.leader_len[t], _in(e, 1, t_max), e == 0))
    parts.append(_in(g.committed_len, 0, length))
    for x in range(length):
        inside = x < g.committed_len
        parts.append(z3.If(inside, z3.And(_in(g.committed[x], 1, t_max),
                                          _in(g.committed_by[x], 1, t_max)),
                           z3.And(g.committed[x] == 0, g.committed_by[x] == 0)))
    return _all(parts)


# ------------------------------------------------------------------------------ Figure 3


def election_safety(ctx: Context, s: State) -> Expr:
    return _all([z3.Not(z3.And(row[p], row[q])) for row in s.ghost.leader
                 for p, q in combinations(range(len(row)), 2)])


def _prefix_equal(a: tuple[Expr, ...], b: tuple[Expr, ...], upto: int) -> Expr:
    return _all([a[x] == b[x] for x in range(upto + 1)])


def log_matching(ctx: Context, s: State) -> Expr:
    parts: list[Expr] = []
    for (la, a), (lb, b) in combinations(_logs(s), 2):
        for k in range(ctx[0].max_log):
            same = z3.And(k < la, k < lb, a[k] == b[k])
            parts.append(z3.Implies(same, _prefix_equal(a, b, k)))
    return _all(parts)


def leader_completeness(ctx: Context, s: State) -> Expr:
    g = s.ghost
    parts: list[Expr] = []
    for v in s.nodes:
        for k in range(ctx[0].max_log):
            older = z3.And(_is_leader(v), k < g.committed_len, g.committed_by[k] < v.term)
            parts.append(z3.Implies(older, z3.And(k < v.length, v.log[k] == g.committed[k])))
    return _all(parts)


def state_machine_safety(ctx: Context, s: State) -> Expr:
    g = s.ghost
    parts: list[Expr] = []
    for v in s.nodes:
        for k in range(ctx[0].max_log):
            done = z3.And(v.up, k < v.commit, k < v.length)
            parts.append(z3.Implies(done, z3.And(k < g.committed_len,
                                                 v.log[k] == g.committed[k])))
    return _all(parts)


def commit_terms_recorded(ctx: Context, s: State) -> Expr:
    g = s.ghost
    parts: list[Expr] = []
    for v in s.nodes:
        for x in range(ctx[0].max_log):
            parts.append(z3.Implies(z3.And(v.up, x < v.commit, x < v.length),
                                    g.committed_by[x] <= v.term))
    for m in s.slots:
        for x in range(ctx[0].max_log):
            parts.append(z3.Implies(z3.And(m.present, m.kind == AE, x < m.leader_commit),
                                    g.committed_by[x] <= m.term))
    return _all(parts)


def commit_within_log(ctx: Context, s: State) -> Expr:
    return _all([z3.Implies(v.up, v.commit <= v.length) for v in s.nodes])


def leader_append_only(ctx: Context, pre: State, post: State) -> Expr:
    parts: list[Expr] = []
    for a, b in zip(pre.nodes, post.nodes, strict=True):
        same = z3.And(_is_leader(a), _is_leader(b), a.term == b.term)
        parts.append(z3.Implies(same, z3.And(b.length >= a.length, *(
            z3.Implies(x < a.length, a.log[x] == b.log[x]) for x in range(len(a.log))))))
    return _all(parts)


# ------------------------------------------------------------------------------ auxiliaries


def one_vote_per_term(ctx: Context, s: State) -> Expr:
    parts: list[Expr] = []
    for p, v in enumerate(s.nodes):
        row = s.ghost.vote[p]
        parts.append(v.voted_for == ite_index(row, v.term, -1))
        parts += [z3.Implies(t > v.term, row[t] == -1) for t in range(len(row))]
    return _all(parts)


def granted_votes_match(ctx: Context, s: State) -> Expr:
    parts: list[Expr] = []
    for p, v in enumerate(s.nodes):
        for q, granted in enumerate(v.votes):
            parts.append(z3.Implies(granted, ite_index(s.ghost.vote[q], v.term, -1) == p))
        parts.append(z3.Implies(z3.And(v.up, v.role != 0), v.voted_for == p))
    for row in s.ghost.vote:
        for t in range(1, len(row)):
            for c, w in enumerate(s.nodes):
                parts.append(z3.Implies(row[t] == c, z3.And(w.term >= t,
                                                            s.ghost.vote[c][t] == c)))
    for m in s.slots:
        for q in range(ctx[0].nodes):
            vote = ite_index(s.ghost.vote[q], m.term, -1)  # q's vote in the message's term
            parts.append(z3.Implies(z3.And(m.present, m.kind == RVR, m.flag, m.source == q),
                                    vote == m.dest))
            parts.append(z3.Implies(z3.And(m.present, m.kind == RV, m.source == q), vote == q))
    return _all(parts)


def leader_has_quorum(ctx: Context, s: State) -> Expr:
    sizes, quorum = ctx
    g = s.ghost
    parts: list[Expr] = []
    for t in range(1, sizes.max_term + 1):
        electors = z3.Sum([z3.If(x, 1, 0) for x in g.electors[t]])
        for p in range(sizes.nodes):
            votes = z3.Sum([z3.If(g.vote[q][t] == p, 1, 0) for q in range(sizes.nodes)])
            parts.append(z3.Implies(g.leader[t][p], z3.And(votes >= quorum, electors >= quorum,
                                                           s.nodes[p].term >= t)))
            parts += [z3.Implies(z3.And(g.leader[t][p], g.electors[t][q]), g.vote[q][t] == p)
                      for q in range(sizes.nodes)]
    for p, v in enumerate(s.nodes):
        elected = ite_index([row[p] for row in g.leader], v.term, False)
        parts.append(z3.Implies(_is_leader(v), elected))
        parts.append(z3.Implies(z3.And(elected, v.up), v.role != CANDIDATE))
    return _all(parts)


def leader_log_is_ghost(ctx: Context, s: State) -> Expr:
    g = s.ghost
    parts: list[Expr] = []
    for p, v in enumerate(s.nodes):
        for t in range(1, ctx[0].max_term + 1):
            here = z3.And(g.leader[t][p], v.term == t)
            parts.append(z3.Implies(here, z3.And(v.length == g.leader_len[t], *(
                a == b for a, b in zip(v.log, g.leader_log[t], strict=True)))))
    return _all(parts)


def terms_monotonic(ctx: Context, s: State) -> Expr:
    logs = _logs(s) + list(zip(s.ghost.leader_len, s.ghost.leader_log, strict=True))
    parts = [z3.Implies(x + 1 < length, log[x] <= log[x + 1])
             for length, log in logs for x in range(len(log) - 1)]
    for m in s.slots:
        ae = z3.And(m.present, m.kind == AE)
        parts += [z3.Implies(z3.And(ae, x + 1 < m.length), m.entries[x] <= m.entries[x + 1])
                  for x in range(len(m.entries) - 1)]
        parts.append(z3.Implies(z3.And(ae, m.length > 0), m.b <= m.entries[0]))
    return _all(parts)


def entry_term_at_most_holder_term(ctx: Context, s: State) -> Expr:
    parts = [e <= v.term for v in s.nodes for e in v.log]
    parts += [e <= t for t, row in enumerate(s.ghost.leader_log) for e in row]
    for m in s.slots:
        carries = z3.And(m.present, z3.Or(m.kind == RV, m.kind == AE))
        parts += [z3.Implies(carries, z3.And(m.b <= m.term, *(e <= m.term
                                                              for e in m.entries)))]
        parts.append(z3.Implies(m.present, m.term <= _max_term(s)))
    return _all(parts)


def _max_term(s: State) -> Expr:
    out = s.nodes[0].term
    for v in s.nodes[1:]:
        out = z3.If(v.term > out, v.term, out)
    return out


def _in_leader_log(ctx: Context, s: State, length: Expr, log: tuple[Expr, ...]) -> Expr:
    """Every entry of `log`, with term t, sits in term t's leader's log with the same
    prefix."""
    g = s.ghost
    parts: list[Expr] = []
    for k in range(len(log)):
        for t in range(1, ctx[0].max_term + 1):
            holds = z3.And(k < length, log[k] == t)
            parts.append(z3.Implies(holds, z3.And(_some_leader(s, t), g.leader_len[t] > k,
                                                  _prefix_equal(log, g.leader_log[t], k))))
    return _all(parts)


def entry_in_term_leader_log(ctx: Context, s: State) -> Expr:
    g = s.ghost
    logs = _logs(s) + list(zip(g.leader_len, g.leader_log, strict=True))
    logs.append((g.committed_len, g.committed))
    return _all([_in_leader_log(ctx, s, length, log) for length, log in logs])


def append_entries_match_sender(ctx: Context, s: State) -> Expr:
    sizes = ctx[0]
    g = s.ghost
    parts: list[Expr] = []
    for m in s.slots:
        for t in range(1, sizes.max_term + 1):
            here = z3.And(m.present, m.kind == AE, m.term == t)
            llog, llen = g.leader_log[t], g.leader_len[t]
            sender = ite_index([g.leader[t][p] for p in range(sizes.nodes)], m.source, False)
            contents = [sender, m.a + m.length <= llen,
                        m.b == z3.If(m.a == 0, 0, ite_index(llog, m.a - 1, -1)),
                        m.leader_commit <= llen, m.leader_commit <= g.committed_len]
            contents += [z3.Implies(x < m.length, m.entries[x] == ite_index(llog, m.a + x, -1))
                         for x in range(sizes.max_log)]
            contents += [z3.Implies(x < m.leader_commit, llog[x] == g.committed[x])
                         for x in range(sizes.max_log)]
            parts.append(z3.Implies(here, z3.And(contents)))
            reply = z3.And(m.present, m.kind == AER, m.flag, m.term == t)
            parts.append(z3.Implies(reply, ite_index([g.leader[t][p] for p in
                                                      range(sizes.nodes)], m.dest, False)))
    return _all(parts)


def request_vote_matches_candidate(ctx: Context, s: State) -> Expr:
    g = s.ghost
    parts: list[Expr] = []
    for m in s.slots:
        rv = z3.And(m.present, m.kind == RV)
        parts.append(z3.Implies(rv, (m.a == 0) == (m.b == 0)))
        for t in range(1, ctx[0].max_term + 1):
            parts.append(z3.Implies(z3.And(rv, m.b == t), z3.And(
                _some_leader(s, t), g.leader_len[t] >= m.a,
                ite_index(g.leader_log[t], m.a - 1, -1) == t)))
    for m in s.slots:
        for p, v in enumerate(s.nodes):
            live = z3.And(m.present, m.kind == RV, m.source == p, v.up, v.role == CANDIDATE,
                          v.term == m.term)
            parts.append(z3.Implies(live, z3.And(m.a == v.length,
                                                 m.b == last_term(v.log, v.length))))
    return _all(parts)


def _no_leader_between(ctx: Context, s: State, low: Expr, high: Expr) -> Expr:
    """No node was elected in a term t with low < t ≤ high: nothing could have changed a
    log that agreed with term `low`'s leader (only leaders' AppendEntries change logs)."""
    return _all([z3.Implies(z3.And(t > low, t <= high), z3.Not(_some_leader(s, t)))
                 for t in range(1, ctx[0].max_term + 1)])


def match_index_valid(ctx: Context, s: State) -> Expr:
    g = s.ghost
    parts: list[Expr] = []
    for p, v in enumerate(s.nodes):
        lead = _is_leader(v)
        parts.append(z3.Implies(lead, v.match_index[p] == v.length))
        parts.append(z3.Implies(lead, z3.And(v.next_index[p] >= 1,
                                             v.next_index[p] <= ctx[0].max_log + 1)))
        for q in range(ctx[0].nodes):
            if q == p:  # the leader's own next_index is set at election and never used
                continue
            parts.append(z3.Implies(lead, z3.And(v.match_index[q] <= v.length,
                                                 v.match_index[q] >= 0,
                                                 v.next_index[q] >= v.match_index[q] + 1,
                                                 v.next_index[q] <= v.length + 1)))
            # (that a follower holds the leader's log up to its match index is Acker Holds
            # Prefix, which says more: it holds while every leader since holds it too)

    for m in s.slots:
        ok = z3.And(m.present, m.kind == AER, m.flag)
        for t in range(1, ctx[0].max_term + 1):
            parts.append(z3.Implies(z3.And(ok, m.term == t), m.a <= g.leader_len[t]))
        for q, w in enumerate(s.nodes):
            same = z3.And(ok, m.source == q, _no_leader_between(ctx, s, m.term, w.term))
            parts += [z3.Implies(z3.And(same, x < m.a),
                                 z3.And(x < w.length, w.log[x] == ite_index(
                                     [g.leader_log[t][x] for t in range(ctx[0].max_term + 1)],
                                     m.term, -1)))
                      for x in range(ctx[0].max_log)]
    return _all(parts)


def senders_are_past_message_term(ctx: Context, s: State) -> Expr:
    """A message's term is at most its sender's current term (terms only grow); a leader's
    positive match index names a node at or past the leader's term."""
    parts: list[Expr] = []
    for m in s.slots:
        for p, v in enumerate(s.nodes):
            parts.append(z3.Implies(z3.And(m.present, m.source == p), m.term <= v.term))
    for p, v in enumerate(s.nodes):
        for q, w in enumerate(s.nodes):
            if q != p:
                parts.append(z3.Implies(z3.And(_is_leader(v), v.match_index[q] > 0),
                                        w.term >= v.term))
    return _all(parts)


def _acked(s: State, i: int, j: int, k: int) -> Expr:
    """Live leader i knows, or will know from a success in flight, that j holds its log up
    to index k (i itself always does)."""
    if i == j:
        return z3.BoolVal(True)
    v = s.nodes[i]
    parts = [v.match_index[j] >= k]
    parts += [z3.And(m.present, m.kind == AER, m.flag, m.source == j, m.dest == i,
                     m.term == v.term, m.a >= k) for m in s.slots]
    return z3.Or(parts)


def _committable(ctx: Context, s: State, i: int, k: int) -> Expr:
    """Live leader i's entry k (1-based) is of its own term and a quorum acknowledged it:
    it is committed, or will be as soon as the acknowledgements arrive."""
    sizes, quorum = ctx
    v = s.nodes[i]
    count = z3.Sum([z3.If(_acked(s, i, j, k), 1, 0) for j in range(sizes.nodes)])
    return z3.And(_is_leader(v), k <= v.length, v.log[k - 1] == v.term, count >= quorum)


def committable_held(ctx: Context, s: State) -> Expr:
    sizes = ctx[0]
    parts: list[Expr] = []
    for i, v in enumerate(s.nodes):
        for k in range(1, sizes.max_log + 1):
            e = _committable(ctx, s, i, k)
            for j, w in enumerate(s.nodes):
                if j != i:
                    parts.append(z3.Implies(z3.And(e, _acked(s, i, j, k)), z3.And(
                        w.length >= k, _prefix_equal(w.log, v.log, k - 1))))
    return _all(parts)


def committable_in_later_leaders(ctx: Context, s: State) -> Expr:
    sizes = ctx[0]
    g = s.ghost
    parts: list[Expr] = []
    for i, v in enumerate(s.nodes):
        for k in range(1, sizes.max_log + 1):
            e = _committable(ctx, s, i, k)
            for t in range(1, sizes.max_term + 1):
                later = z3.And(e, t > v.term, _some_leader(s, t))
                parts.append(z3.Implies(later, z3.And(g.leader_len[t] >= k, _prefix_equal(
                    g.leader_log[t], v.log, k - 1))))
            for c, w in enumerate(s.nodes):
                voted = z3.Or([z3.And(_acked(s, i, j, k),
                                      ite_index(g.vote[j], w.term, -1) == c)
                               for j in range(sizes.nodes)])
                cand = z3.And(e, w.up, w.role == CANDIDATE, w.term > v.term, voted)
                parts.append(z3.Implies(cand, z3.And(w.length >= k,
                                                     _prefix_equal(w.log, v.log, k - 1))))
            for w in s.nodes:
                for x in range(sizes.max_log):
                    newer = z3.And(e, x < w.length, w.log[x] > v.term)
                    parts.append(z3.Implies(newer, z3.And(w.length >= k, _prefix_equal(
                        w.log, v.log, k - 1))))
    return _all(parts)


def candidate_log_older(ctx: Context, s: State) -> Expr:
    """A live candidate's entries are all of terms before its own (it has heard from no
    leader of its term: an AppendEntries of that term would have made it a follower), and
    so is a RequestVote's last log term."""
    parts: list[Expr] = []
    for v in s.nodes:
        live = z3.And(v.up, v.role == CANDIDATE)
        parts += [z3.Implies(live, e < v.term) for e in v.log]
    for m in s.slots:
        parts.append(z3.Implies(z3.And(m.present, m.kind == RV), m.b < m.term))
    return _all(parts)


def _holds_prefix(length: Expr, log: tuple[Expr, ...], of: tuple[Expr, ...], k: int) -> Expr:
    """The log (length, log) holds `of`'s first k entries."""
    return z3.And(length >= k, _prefix_equal(log, of, k - 1)) if k else z3.BoolVal(True)


def _leaders_between_hold(ctx: Context, s: State, low: Expr, high: Expr,
                          log: tuple[Expr, ...], k: int) -> Expr:
    """Every leader elected in a term t with low < t ≤ high holds `log`'s first k entries:
    no AppendEntries of theirs removed them from a log that had them."""
    g = s.ghost
    return _all([z3.Implies(z3.And(t > low, t <= high, _some_leader(s, t)),
                            _holds_prefix(g.leader_len[t], g.leader_log[t], log, k))
                 for t in range(1, ctx[0].max_term + 1)])


def acker_holds_prefix(ctx: Context, s: State) -> Expr:
    """A node that acknowledged a live leader's log up to k (match_index or a success in
    flight) still holds it, as long as every leader elected since (up to its own term)
    holds it too: only a leader's AppendEntries changes a log, and one holding the prefix
    cannot remove it (Match Index Valid with its "no leader since" relaxed)."""
    sizes = ctx[0]
    parts: list[Expr] = []
    for i, v in enumerate(s.nodes):
        for k in range(1, sizes.max_log + 1):
            own = z3.And(_is_leader(v), k <= v.length)
            for j, w in enumerate(s.nodes):
                if j == i:
                    continue
                here = z3.And(own, _acked(s, i, j, k),
                              _leaders_between_hold(ctx, s, v.term, w.term, v.log, k))
                parts.append(z3.Implies(here, _holds_prefix(w.length, w.log, v.log, k)))
    return _all(parts)


def acked_in_voted_candidates(ctx: Context, s: State) -> Expr:
    """An acknowledgement precedes any later vote of the acknowledger. A node j that
    acknowledged a live leader i's own-term entry k (term t) did so in term t, so before
    it voted in any term t' > t. When every leader of a term in (t, t'] holds i's log up
    to k, j still held it when it voted (only those leaders' AppendEntries reached it), and
    the candidate it voted for had a log at least as up-to-date: a live candidate of t'
    holds i's log up to k, and so does term t's leader log when j was among its electors
    (when j voted late, after that leader's election, the leader may already have
    overwritten j: term t' is in the first condition for that reason)."""
    sizes = ctx[0]
    g = s.ghost
    parts: list[Expr] = []
    for i, v in enumerate(s.nodes):
        for k in range(1, sizes.max_log + 1):
            own = z3.And(_is_leader(v), k <= v.length, v.log[k - 1] == v.term)
            for j in range(sizes.nodes):
                if j == i:
                    continue
                acked = z3.And(own, _acked(s, i, j, k))
                for later in range(2, sizes.max_term + 1):
                    base = z3.And(acked, v.term < later, _leaders_between_hold(
                        ctx, s, v.term, z3.IntVal(later), v.log, k))
                    elector = z3.And(acked, v.term < later, g.electors[later][j],
                                     _leaders_between_hold(ctx, s, v.term,
                                                           z3.IntVal(later - 1), v.log, k))
                    parts.append(z3.Implies(elector, _holds_prefix(
                        g.leader_len[later], g.leader_log[later], v.log, k)))
                    for c, w in enumerate(s.nodes):
                        voted = z3.And(base, g.vote[j][later] == c)
                        candidate = z3.And(voted, w.up, w.role == CANDIDATE, w.term == later)
                        parts.append(z3.Implies(candidate, z3.And(
                            w.length >= k, _prefix_equal(w.log, v.log, k - 1))))
    return _all(parts)


def committed_in_later_leaders(ctx: Context, s: State) -> Expr:
    g = s.ghost
    parts: list[Expr] = []
    for t in range(1, ctx[0].max_term + 1):
        for k in range(ctx[0].max_log):
            later = z3.And(_some_leader(s, t), k < g.committed_len, g.committed_by[k] < t)
            parts.append(z3.Implies(later, z3.And(k < g.leader_len[t],
                                                  g.leader_log[t][k] == g.committed[k])))
    return _all(parts)


def committed_log_shape(ctx: Context, s: State) -> Expr:
    g = s.ghost
    n = ctx[0].max_log
    parts = [z3.Implies(g.committed_len == x + 1, g.committed[x] == g.committed_by[x])
             for x in range(n)]
    parts += [z3.Implies(x + 1 < g.committed_len, g.committed_by[x] <= g.committed_by[x + 1])
              for x in range(n - 1)]
    parts += [z3.Implies(x < g.committed_len, g.committed[x] <= g.committed_by[x])
              for x in range(n)]
    return _all(parts)


def committed_in_voted_candidates(ctx: Context, s: State) -> Expr:
    """A live candidate with a quorum of recorded votes in its term (it wins when their
    responses arrive) holds every entry committed before its term."""
    sizes, quorum = ctx
    g = s.ghost
    parts: list[Expr] = []
    for c, w in enumerate(s.nodes):
        votes = z3.Sum([z3.If(ite_index(g.vote[j], w.term, -1) == c, 1, 0)
                        for j in range(sizes.nodes)])
        live = z3.And(w.up, w.role == CANDIDATE, votes >= quorum)
        for k in range(sizes.max_log):
            here = z3.And(live, k < g.committed_len, g.committed_by[k] < w.term)
            parts.append(z3.Implies(here, z3.And(k < w.length, w.log[k] == g.committed[k])))
    return _all(parts)


def _safe_for(ctx: Context, s: State, j: int, x: int) -> Expr:
    """Node j holds the committed log up to index x (0-based), and every vote it cast in a
    term after that entry's commit term went to a candidate holding it (a live candidate
    of that term, or that term's leader log)."""
    sizes = ctx[0]
    g = s.ghost
    w = s.nodes[j]
    parts = [_holds_prefix(w.length, w.log, g.committed, x + 1)]
    for t in range(1, sizes.max_term + 1):
        for c, v in enumerate(s.nodes):
            voted = z3.And(t > g.committed_by[x], g.vote[j][t] == c)
            parts.append(z3.Implies(z3.And(voted, v.up, v.role == CANDIDATE, v.term == t),
                                    _holds_prefix(v.length, v.log, g.committed, x + 1)))
            parts.append(z3.Implies(z3.And(voted, g.leader[t][c]), _holds_prefix(
                g.leader_len[t], g.leader_log[t], g.committed, x + 1)))
    return z3.And(parts)


def committed_safe_on_quorum(ctx: Context, s: State) -> Expr:
    """Each committed entry has a quorum of safe holders: nodes that hold it and voted,
    in every term after its commit term, only for candidates holding it. (The quorum that
    acknowledged it did so before voting in any later term.) Any two quorums meet, so a
    candidate lacking the entry never gets a quorum of votes after it was committed.

    It replaces "Committed On Quorum" (a quorum holds the whole committed log), which it
    implies: at the last committed index its safe holders hold the whole log."""
    sizes, quorum = ctx
    g = s.ghost
    parts: list[Expr] = []
    for x in range(sizes.max_log):
        safe = z3.Sum([z3.If(_safe_for(ctx, s, j, x), 1, 0) for j in range(sizes.nodes)])
        parts.append(z3.Implies(x < g.committed_len, safe >= quorum))
    return _all(parts)


def newer_entry_holds_committed(ctx: Context, s: State) -> Expr:
    g = s.ghost
    length = ctx[0].max_log
    parts: list[Expr] = []
    logs = [(v.length, v.log, v.term) for v in s.nodes]
    for log_len, log, _ in logs:
        for k in range(length):
            for x in range(length):
                newer = z3.And(k < g.committed_len, x < log_len, log[x] > g.committed_by[k])
                parts.append(z3.Implies(newer, z3.And(k < log_len, log[k] == g.committed[k])))
    for m in s.slots:
        for k in range(length):
            rv = z3.And(m.present, m.kind == RV, k < g.committed_len,
                        m.b > g.committed_by[k])
            parts.append(z3.Implies(rv, m.a > k))
    return _all(parts)


def committed_prefix(ctx: Context, s: State) -> Expr:
    """Entries committed by term t were in term t's leader's log."""
    g = s.ghost
    parts: list[Expr] = []
    for k in range(ctx[0].max_log):
        for t in range(1, ctx[0].max_term + 1):
            here = z3.And(k < g.committed_len, g.committed_by[k] == t)
            parts.append(z3.Implies(here, z3.And(_some_leader(s, t), k < g.leader_len[t],
                                                 g.leader_log[t][k] == g.committed[k])))
    return _all(parts)


LEMMAS: tuple[Lemma, ...] = (
    Lemma("Node Domain", "every node variable is in range and canonical (no votes unless a "
          "candidate, no next/match unless a leader, a down node's volatile state is zero)",
          False, node_domain),
    Lemma("Message Domain", "every message slot is empty (all zeros) or a well-formed message "
          "of one kind, between two different nodes, whose entries fit max_log", False,
          message_domain),
    Lemma("Ghost Domain", "the history variables are in range; no term has a leader log "
          "unless it had a leader", False, ghost_domain),
    Lemma(ELECTION_SAFETY, "at most one node has ever been elected leader in a term", True,
          election_safety),
    Lemma(LOG_MATCHING, "two logs with an entry of the same term at the same index are "
          "identical up to it", True, log_matching),
    Lemma(LEADER_COMPLETENESS, "a live leader holds every entry committed in an earlier term",
          True, leader_completeness),
    Lemma(STATE_MACHINE_SAFETY, "every node's entries up to its commit index are the "
          "committed log's", True, state_machine_safety),
    Lemma(LEADER_APPEND_ONLY, "a leader never overwrites or deletes its log's entries within "
          "its term (transition lemma)", True, step=leader_append_only),
    Lemma(COMMIT_WITHIN_LOG, "a live node's commit index is at most its log length", False,
          commit_within_log),
    Lemma("Commit Terms Recorded", "an entry within a live node's commit index, or within "
          "an AppendEntries' leader_commit, was committed in a term no later than the node's "
          "or message's", False, commit_terms_recorded),
    Lemma("One Vote Per Term", "voted_for is the vote recorded for the current term, and no "
          "vote is recorded for a future term", False, one_vote_per_term),
    Lemma("Granted Votes Match Voted For", "a candidate's granted votes, granted "
          "RequestVoteResponses and RequestVotes in flight agree with the recorded votes; "
          "candidates and leaders voted for themselves", False, granted_votes_match),
    Lemma("Leader Has Quorum", "an elected leader got a quorum of recorded votes in its term, "
          "a quorum of them cast before its election (its electors), and is at least that "
          "term; a live leader is the recorded leader of its term",
          False, leader_has_quorum),
    Lemma("Leader Log Is Ghost", "a node elected in its current term (live or not, leading "
          "or not) holds exactly the recorded log of that term's leader", False,
          leader_log_is_ghost),
    Lemma("Terms Monotonic In Log", "entry terms never decrease along a log (node logs, "
          "leader logs, AppendEntries entries after prev_log_term)", False, terms_monotonic),
    Lemma("Entry Term At Most Holder Term", "no entry's term exceeds its holder's current "
          "term, a leader log's term, or its message's term; no message is from the future",
          False, entry_term_at_most_holder_term),
    Lemma("Entry In Term Leader Log", "an entry with term t is at that index in term t's "
          "leader's log, with the same prefix (node logs, leader logs, the committed log)",
          False, entry_in_term_leader_log),
    Lemma("AppendEntries Match Sender", "an AppendEntries of term t comes from term t's "
          "leader and carries a slice of its log, the matching prev_log_term and a "
          "leader_commit within the committed log", False, append_entries_match_sender),
    Lemma("RequestVote Matches Candidate", "a RequestVote from a live candidate of its term "
          "carries the candidate's last log index and term; any RequestVote's last entry "
          "(index, term) is in that term's leader's log", False,
          request_vote_matches_candidate),
    Lemma("Match Index Valid", "a leader's match/next indices are within its log; the "
          "sender of a successful AppendEntriesResponse holds its term's leader log up to "
          "the acknowledged index unless a later term has had a leader (a follower's match "
          "index: Acker Holds Prefix)", False,
          match_index_valid),
    Lemma("Senders Past Message Term", "a message's term is at most its sender's term; a "
          "leader's positive match index names a node at or past the leader's term", False,
          senders_are_past_message_term),
    Lemma("Committable Held By Ackers", "when a quorum acknowledged a live leader's own-term "
          "entry (match_index or a success in flight), every acknowledger still holds the "
          "leader's log up to it", False, committable_held),
    Lemma("Committable In Later Leaders", "such a committable entry is in every later term's "
          "leader's log, in every later candidate voted for by an acknowledger, and in every "
          "log with an entry of a later term", False, committable_in_later_leaders),
    Lemma("Candidate Log Older", "a live candidate's entries, and a RequestVote's last log "
          "term, are of terms before its own", False, candidate_log_older),
    Lemma("Acked In Voted Candidates", "a node that acknowledged a live leader's own-term "
          "entry and then voted in a later term, every leader elected since holding that "
          "entry, voted for a candidate holding the leader's log up to it (a leader log, if "
          "the node was among its electors)",
          False, acked_in_voted_candidates),
    Lemma("Acker Holds Prefix", "a node that acknowledged a live leader's log up to an "
          "index still holds it while every leader elected since holds it", False,
          acker_holds_prefix),
    Lemma("Committed Safe On Quorum", "each committed entry has a quorum of holders whose "
          "every vote in a later term went to a candidate holding it", False,
          committed_safe_on_quorum),
    Lemma("Committed In Later Leaders", "every leader of a term after an entry's commit term "
          "holds the committed entry", False, committed_in_later_leaders),
    Lemma("Committed Log Shape", "the committed log ends with an entry of its commit term, "
          "commit terms never decrease along it, and no entry is newer than its commit term",
          False, committed_log_shape),
    Lemma("Committed In Voted Candidates", "a live candidate with a quorum of recorded "
          "votes in its term holds each entry committed before its term", False,
          committed_in_voted_candidates),
    Lemma("Newer Entry Holds Committed", "a log with an entry newer than a committed entry's "
          "commit term holds the committed entry (and a RequestVote with a newer last term "
          "is at least as long)", False, newer_entry_holds_committed),
    Lemma("Committed By Term Leader", "an entry committed in term t is in term t's leader's "
          "log", False, committed_prefix),
)

LEMMA_NAMES = tuple(lemma.name for lemma in LEMMAS)


def by_name(name: str) -> Lemma:
    for lemma in LEMMAS:
        if lemma.name.lower() == name.lower() or _slug(lemma.name) == _slug(name):
            return lemma
    raise KeyError(name)


def _slug(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())


def invariant(ctx: Context, s: State, lemmas: tuple[Lemma, ...] = LEMMAS) -> Expr:
    return _all([lemma.formula(ctx, s) for lemma in lemmas if lemma.holds is not None])
