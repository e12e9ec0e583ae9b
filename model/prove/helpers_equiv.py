"""Refactor equivalence of the core's pure helpers, proven by z3 up to bounds.

A refactor of `impl.raft` usually rewrites a small rule: the log up-to-date comparison, the
commit-index advancement, the AppendEntries conflict handling. Each helper here exists in two
versions written once against a tiny interface (`Ops`: If/And/Or/Not and comparisons) that
runs on Python ints *and* on z3 terms, so the same text is brute-forced and proven:

* `prove_pair(pair, bound)` asks z3 for inputs (within the bound, satisfying the pair's
  precondition) where the versions differ: unsat is a proof up to the bound; sat gives a
  printed counterexample, re-run on the int versions so it is concrete.
* `brute_force(pair, bound)` runs both int versions over every input of the small domain, and
  also the *real* `impl.raft.RaftCore` method, so the z3 text cannot drift from the code.

Preconditions are the invariants the helper relies on in reachable states: the sorted-median
commit rule equals the core's loop only when log terms never decrease along the log and no
entry is newer than the leader's term (lemmas "Terms Monotonic In Log" and "Entry Term At
Most Holder Term" of `model.prove.invariant`); conflict handling is compared only once the
consistency check passed (prev_log_index ≤ len(log)).

Used by `raftcheck prove --helpers`; a refactor-verification workflow imports `PAIRS` and
`check_all` (or builds its own `Pair`) to compare an old and a new version of a helper.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import product
from typing import Any

import z3
from attrs import frozen

from raftcheck.impl.raft import RaftCore
from raftcheck.impl.types import Entry, LeaderState, Node, Persistent, Put, Role, Volatile

Value = Any  # an int/bool or a z3 term


class Ops:
    """The interface the helpers are written against: Python semantics."""

    def If(self, c: Value, a: Value, b: Value) -> Value:
        return a if c else b

    def And(self, *xs: Value) -> Value:
        return all(xs)

    def Or(self, *xs: Value) -> Value:
        return any(xs)

    def Not(self, x: Value) -> Value:
        return not x

    def at(self, values: Sequence[Value], index: Value, default: Value) -> Value:
        return values[index] if 0 <= index < len(values) else default


class Z3Ops(Ops):
    """The same interface on z3 terms."""

    def If(self, c: Value, a: Value, b: Value) -> Value:
        return z3.If(c, a, b)

    def And(self, *xs: Value) -> Value:
        return z3.And(*xs) if xs else z3.BoolVal(True)

    def Or(self, *xs: Value) -> Value:
        return z3.Or(*xs) if xs else z3.BoolVal(False)

    def Not(self, x: Value) -> Value:
        return z3.Not(x)

    def at(self, values: Sequence[Value], index: Value, default: Value) -> Value:
        out = default
        for k in reversed(range(len(values))):
            out = z3.If(index == k, values[k], out)
        return out


INT, Z3 = Ops(), Z3Ops()


@frozen
class Bound:
    """Inputs range over: logs of ≤ max_log entries with terms 1..max_term, clusters of
    `nodes`, indices 0..max_log."""

    nodes: int = 3
    max_term: int = 3
    max_log: int = 3


# ------------------------------------------------------------------------------ helper 1


def up_to_date_core(o: Ops, x: dict[str, Value]) -> tuple[Value, ...]:
    """`RaftCore.log_is_up_to_date` as written: compare terms, then lengths."""
    return (o.If(x["last_term"] != x["voter_term"], x["last_term"] > x["voter_term"],
                 x["last_index"] >= x["voter_index"]),)


def up_to_date_tuple(o: Ops, x: dict[str, Value]) -> tuple[Value, ...]:
    """The refactor: lexicographic (last_term, last_index) >= (voter's)."""
    return (o.Or(x["last_term"] > x["voter_term"],
                 o.And(x["last_term"] == x["voter_term"], x["last_index"] >= x["voter_index"])),)


def up_to_date_length_only(o: Ops, x: dict[str, Value]) -> tuple[Value, ...]:
    """A wrong refactor (longest log wins), kept to show a counterexample."""
    return (x["last_index"] >= x["voter_index"],)


# ------------------------------------------------------------------------------ helper 2


def commit_loop(o: Ops, x: dict[str, Value]) -> tuple[Value, ...]:
    """`RaftCore.advance_commit_index`: the highest N > commit_index with log[N] of the
    current term and a quorum of match_index ≥ N."""
    log, length, match = x["log"], x["length"], x["match"]
    new = x["commit"]
    for index in range(1, len(log) + 1):
        count = sum(o.If(m >= index, 1, 0) for m in match)
        ok = o.And(index > x["commit"], index <= length, log[index - 1] == x["term"],
                   count >= x["quorum"])
        new = o.If(ok, index, new)
    return (new,)


def commit_median(o: Ops, x: dict[str, Value]) -> tuple[Value, ...]:
    """The refactor: take the quorum-th largest match index M (the "median"), commit it if
    it is past commit_index and of the current term. In ints this sorts; in z3 M is the
    largest index a quorum has reached (the same number, by definition of the order
    statistic — the brute-force check compares it with `sorted`)."""
    log, length, match, quorum = x["log"], x["length"], x["match"], x["quorum"]
    if isinstance(match[0], int):
        median = sorted(match, reverse=True)[quorum - 1]
    else:
        median = z3.IntVal(0)
        for index in range(1, len(log) + 1):
            median = z3.If(sum(z3.If(m >= index, 1, 0) for m in match) >= quorum, index,
                           median)
    ok = o.And(median > x["commit"], median <= length,
               o.at(log, median - 1, -1) == x["term"])
    return (o.If(ok, median, x["commit"]),)


# ------------------------------------------------------------------------------ helper 3


def merge_loop(o: Ops, x: dict[str, Value]) -> tuple[Value, ...]:
    """`RaftCore.merge_entries`, the loop unrolled: at the first offset past the log, append
    the rest; at the first conflicting term, truncate there and append the rest; else keep."""
    log, length, prev, entries, count = x["log"], x["length"], x["prev"], x["entries"], \
        x["count"]
    cap = len(log) + len(entries)
    out_len, out = length, [o.at(log, i, 0) for i in range(cap)]
    done: Value = False
    for offset in range(len(entries)):
        index = prev + 1 + offset
        active = o.And(o.Not(done), offset < count)
        past = index > length
        conflict = o.And(o.Not(past), o.at(log, index - 1, 0) != entries[offset])
        cut = o.If(past, length, index - 1)  # keep log[:cut], then entries[offset:]
        fire = o.And(active, o.Or(past, conflict))
        new_len = cut + count - offset
        for i in range(cap):
            spliced = o.If(i < cut, o.at(log, i, 0),
                           o.If(i < new_len, o.at(entries, i - cut + offset, 0), 0))
            out[i] = o.If(fire, spliced, out[i])
        out_len = o.If(fire, new_len, out_len)
        done = o.Or(done, fire)
    return (out_len, *(o.If(i < out_len, v, 0) for i, v in enumerate(out)))


def merge_closed_form(o: Ops, x: dict[str, Value]) -> tuple[Value, ...]:
    """The refactor (and `model.prove.encoding`'s form): if any entry conflicts or the
    request reaches past the log, the log becomes log[:base] + entries (base = prev, or the
    log's end when prev lies past it); otherwise it is unchanged."""
    log, length, prev, entries, count = x["log"], x["length"], x["prev"], x["entries"], \
        x["count"]
    cap = len(log) + len(entries)
    base = o.If(prev >= length, length, prev)
    conflict = o.Or(*(o.And(k < count, prev + k < length, o.at(log, prev + k, 0) != e)
                      for k, e in enumerate(entries)))
    replace = o.Or(conflict, base + count > length)
    new_len = o.If(replace, base + count, length)
    out = [o.If(replace, o.If(i < base, o.at(log, i, 0),
                              o.If(i < base + count, o.at(entries, i - base, 0), 0)),
                o.at(log, i, 0)) for i in range(cap)]
    return (new_len, *(o.If(i < new_len, v, 0) for i, v in enumerate(out)))


def merge_truncate_always(o: Ops, x: dict[str, Value]) -> tuple[Value, ...]:
    """A wrong refactor: always log[:prev] + entries — a stale, reordered AppendEntries then
    truncates entries the leader already replicated (the students' guide's classic bug)."""
    log, prev, entries, count = x["log"], x["prev"], x["entries"], x["count"]
    cap = len(log) + len(entries)
    new_len = prev + count
    out = [o.If(i < prev, o.at(log, i, 0), o.If(i < new_len, o.at(entries, i - prev, 0), 0))
           for i in range(cap)]
    return (new_len, *out)


# ------------------------------------------------------------------------------ the pairs


Version = Callable[[Ops, dict[str, Value]], tuple[Value, ...]]


@frozen
class Pair:
    """Two versions of one helper, its inputs and the precondition they are compared under.
    `real` runs the actual `RaftCore` method on concrete inputs (for the brute-force check
    of the first version)."""

    name: str
    before: Version
    after: Version
    inputs: Callable[[Bound, str], dict[str, Value]]  # symbolic inputs, named with a prefix
    domain: Callable[[Ops, Bound, dict[str, Value]], Value]  # well-formed inputs
    precondition: Callable[[Ops, Bound, dict[str, Value]], Value]
    concrete: Callable[[Bound], Iterator[dict[str, Value]]]
    real: Callable[[dict[str, Value]], tuple[Value, ...]] | None = None
    precondition_text: str = "none"


def _log_inputs(b: Bound, p: str) -> dict[str, Value]:
    return {"log": [z3.Int(f"{p}log{i}") for i in range(b.max_log)],
            "length": z3.Int(f"{p}length")}


def _log_domain(o: Ops, b: Bound, x: dict[str, Value]) -> Value:
    parts = [x["length"] >= 0, x["length"] <= b.max_log]
    for i, t in enumerate(x["log"]):
        parts.append(o.If(i < x["length"], o.And(t >= 1, t <= b.max_term), t == 0))
    return o.And(*parts)


def _logs(b: Bound) -> Iterator[tuple[int, tuple[int, ...]]]:
    for length in range(b.max_log + 1):
        for terms in product(range(1, b.max_term + 1), repeat=length):
            yield length, terms + (0,) * (b.max_log - length)


def _monotonic(o: Ops, x: dict[str, Value], bound_term: Value) -> Value:
    log, length = x["log"], x["length"]
    parts = [o.If(i + 1 < length, log[i] <= log[i + 1], True) for i in range(len(log) - 1)]
    parts += [o.If(i < length, log[i] <= bound_term, True) for i in range(len(log))]
    return o.And(*parts)


def _entries(terms: Sequence[int]) -> tuple[Entry, ...]:
    return tuple(Entry(t, Put("x", 1)) for t in terms)


# -- up-to-date
def _utd_inputs(b: Bound, p: str) -> dict[str, Value]:
    return {k: z3.Int(p + k) for k in ("last_term", "last_index", "voter_term", "voter_index")}


def _utd_domain(o: Ops, b: Bound, x: dict[str, Value]) -> Value:
    return o.And(*(o.And(x[k] >= 0, x[k] <= (b.max_term if "term" in k else b.max_log))
                   for k in x))


def _utd_concrete(b: Bound) -> Iterator[dict[str, Value]]:
    for lt, li, vt, vi in product(range(b.max_term + 1), range(b.max_log + 1),
                                  range(b.max_term + 1), range(b.max_log + 1)):
        yield {"last_term": lt, "last_index": li, "voter_term": vt, "voter_index": vi}


def _utd_real(x: dict[str, Value]) -> tuple[Value, ...]:
    # a voter log with the given last (index, term): earlier entries of term 1 or less
    vi, vt = x["voter_index"], x["voter_term"]
    terms = [min(1, vt)] * max(0, vi - 1) + ([vt] if vi else [])
    voter = Node(id=0, cluster_size=3, persistent=Persistent(vt, None, _entries(terms)))
    return (RaftCore().log_is_up_to_date(x["last_term"], x["last_index"], voter),)


def _utd_valid(o: Ops, b: Bound, x: dict[str, Value]) -> Value:
    # a log's last term is 0 exactly when it is empty
    return o.And((x["last_term"] == 0) == (x["last_index"] == 0),
                 (x["voter_term"] == 0) == (x["voter_index"] == 0))


# -- commit
def _commit_inputs(b: Bound, p: str) -> dict[str, Value]:
    x = _log_inputs(b, p)
    x.update(match=[z3.Int(f"{p}match{i}") for i in range(b.nodes)], commit=z3.Int(p + "commit"),
             term=z3.Int(p + "term"), quorum=b.nodes // 2 + 1)
    return x


def _commit_domain(o: Ops, b: Bound, x: dict[str, Value]) -> Value:
    return o.And(_log_domain(o, b, x), x["commit"] >= 0, x["commit"] <= x["length"],
                 x["term"] >= 1, x["term"] <= b.max_term, x["match"][0] == x["length"],
                 *(o.And(m >= 0, m <= x["length"]) for m in x["match"]))


def _commit_pre(o: Ops, b: Bound, x: dict[str, Value]) -> Value:
    return _monotonic(o, x, x["term"])


def _commit_concrete(b: Bound) -> Iterator[dict[str, Value]]:
    for length, log in _logs(b):
        for term in range(1, b.max_term + 1):
            for commit in range(length + 1):
                for others in product(range(length + 1), repeat=b.nodes - 1):
                    yield {"log": list(log), "length": length, "match": [length, *others],
                           "commit": commit, "term": term, "quorum": b.nodes // 2 + 1}


def _commit_real(x: dict[str, Value]) -> tuple[Value, ...]:
    n = len(x["match"])
    node = Node(id=0, cluster_size=n, role=Role.LEADER,
                persistent=Persistent(x["term"], 0, _entries(x["log"][:x["length"]])),
                volatile=Volatile(commit_index=x["commit"], last_applied=x["commit"]),
                leader=LeaderState(tuple(m + 1 for m in x["match"]), tuple(x["match"])))
    return (RaftCore().advance_commit_index(node).commit_index,)


# -- merge
def _merge_inputs(b: Bound, p: str) -> dict[str, Value]:
    x = _log_inputs(b, p)
    x.update(prev=z3.Int(p + "prev"), count=z3.Int(p + "count"),
             entries=[z3.Int(f"{p}entry{i}") for i in range(b.max_log)])
    return x


def _merge_domain(o: Ops, b: Bound, x: dict[str, Value]) -> Value:
    parts = [_log_domain(o, b, x), x["prev"] >= 0, x["count"] >= 0,
             x["prev"] + x["count"] <= b.max_log]
    for i, t in enumerate(x["entries"]):
        parts.append(o.If(i < x["count"], o.And(t >= 1, t <= b.max_term), t == 0))
    return o.And(*parts)


def _merge_pre(o: Ops, b: Bound, x: dict[str, Value]) -> Value:
    return x["prev"] <= x["length"]  # the consistency check passed


def _merge_concrete(b: Bound) -> Iterator[dict[str, Value]]:
    for length, log in _logs(b):
        for prev in range(b.max_log + 1):
            for count in range(b.max_log - prev + 1):
                for entries in product(range(1, b.max_term + 1), repeat=count):
                    yield {"log": list(log), "length": length, "prev": prev, "count": count,
                           "entries": list(entries) + [0] * (b.max_log - count)}


def _merge_real(x: dict[str, Value]) -> tuple[Value, ...]:
    merged = RaftCore().merge_entries(_entries(x["log"][:x["length"]]), x["prev"],
                                      _entries(x["entries"][:x["count"]]))
    cap = len(x["log"]) + len(x["entries"])
    terms = [e.term for e in merged] + [0] * (cap - len(merged))
    return (len(merged), *terms)


UP_TO_DATE = Pair("log up-to-date comparison", up_to_date_core, up_to_date_tuple,
                  _utd_inputs, _utd_domain, _utd_valid, _utd_concrete, _utd_real,
                  "a last term is 0 exactly when the log is empty")
COMMIT = Pair("commit-index advancement (loop vs sorted median)", commit_loop, commit_median,
              _commit_inputs, _commit_domain, _commit_pre, _commit_concrete, _commit_real,
              "log terms non-decreasing and at most the leader's term")
MERGE = Pair("AppendEntries conflict handling (loop vs closed form)", merge_loop,
             merge_closed_form, _merge_inputs, _merge_domain, _merge_pre, _merge_concrete,
             _merge_real, "prev_log_index ≤ len(log) (the consistency check passed)")
PAIRS: tuple[Pair, ...] = (UP_TO_DATE, COMMIT, MERGE)


def _no_pre(o: Ops, b: Bound, x: dict[str, Value]) -> Value:
    return True


# pairs that must differ: the tests and docs show their counterexamples
COMMIT_WITHOUT_PRECONDITION = Pair(
    "commit-index advancement without the monotonic-terms precondition", commit_loop,
    commit_median, _commit_inputs, _commit_domain, _no_pre, _commit_concrete, _commit_real)
UP_TO_DATE_LENGTH_ONLY = Pair("log up-to-date comparison vs length only", up_to_date_core,
                              up_to_date_length_only, _utd_inputs, _utd_domain, _utd_valid,
                              _utd_concrete, _utd_real, "a last term is 0 exactly when empty")
MERGE_TRUNCATE_ALWAYS = Pair("conflict handling vs always truncating", merge_loop,
                             merge_truncate_always, _merge_inputs, _merge_domain, _merge_pre,
                             _merge_concrete, _merge_real, "prev_log_index ≤ len(log)")


# ------------------------------------------------------------------------------ checking


@frozen
class EquivResult:
    pair: str
    equal: bool
    seconds: float
    counterexample: dict[str, Value] | None = None
    before: tuple[Value, ...] = ()
    after: tuple[Value, ...] = ()

    def render(self) -> str:
        if self.equal:
            return f"{self.pair}: equal up to the bound ({self.seconds:.2f} s)"
        assert self.counterexample is not None
        inputs = ", ".join(f"{k}={_show(v)}" for k, v in self.counterexample.items())
        return (f"{self.pair}: DIFFERENT\n  inputs: {inputs}\n  before: {_show(self.before)}"
                f"\n  after:  {_show(self.after)}")


def _show(v: Value) -> str:
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(_show(e) for e in v) + "]"
    return str(v)


def prove_pair(pair: Pair, bound: Bound = Bound()) -> EquivResult:
    """z3: is there an input within the bound, satisfying the precondition, on which the two
    versions differ? Unsat is equality up to the bound; sat gives a concrete counterexample."""
    import time

    started = time.monotonic()
    x = pair.inputs(bound, "")
    a, b = pair.before(Z3, x), pair.after(Z3, x)
    solver = z3.Solver()
    solver.add(_as_bool(pair.domain(Z3, bound, x)), _as_bool(pair.precondition(Z3, bound, x)))
    solver.add(z3.Or([_neq(p, q) for p, q in zip(a, b, strict=True)]))
    if solver.check() == z3.unsat:
        return EquivResult(pair.name, True, time.monotonic() - started)
    model = solver.model()
    concrete = {k: _value(model, v) for k, v in x.items()}
    return EquivResult(pair.name, False, time.monotonic() - started, concrete,
                       pair.before(INT, concrete), pair.after(INT, concrete))


def brute_force(pair: Pair, bound: Bound = Bound()) -> tuple[int, list[str]]:
    """Every input of the domain satisfying the precondition: both int versions agree, and
    the first agrees with the real core. Returns (inputs tried, disagreements)."""
    tried, problems = 0, []
    for x in pair.concrete(bound):
        if not pair.precondition(INT, bound, x):
            continue
        tried += 1
        a, b = pair.before(INT, x), pair.after(INT, x)
        if tuple(a) != tuple(b):
            problems.append(f"versions differ on {x}: {a} vs {b}")
        if pair.real is not None and tuple(pair.real(x)) != tuple(a):
            problems.append(f"first version differs from the core on {x}: {a} vs "
                            f"{pair.real(x)}")
        if len(problems) > 5:
            break
    return tried, problems


def check_all(bound: Bound = Bound(), pairs: Sequence[Pair] = PAIRS) -> list[EquivResult]:
    return [prove_pair(pair, bound) for pair in pairs]


def _as_bool(v: Value) -> Any:
    return z3.BoolVal(v) if isinstance(v, bool) else v


def _neq(p: Value, q: Value) -> Any:
    if isinstance(p, bool) and isinstance(q, bool):
        return z3.BoolVal(p != q)
    return p != q


def _value(model: z3.ModelRef, v: Value) -> Value:
    if isinstance(v, list):
        return [_value(model, e) for e in v]
    if isinstance(v, int):
        return v
    return int(model.eval(v, model_completion=True).as_long())
