"""Counterexamples to induction: a state satisfying the invariant, an action, and a
post-state breaking one lemma — minimised and printed in `model.trace`'s notation.

Minimisation is a descent over a size measure (terms, log lengths, messages in flight,
commit indices, roles, down nodes, the ghost history) in the solver that found the CTI, with
a time cap; when the cap is hit the smallest model found is reported and marked as not
minimised. A CTI is not necessarily a reachable state:
it says the lemmas are too weak, or (with a broken rule) that the rule breaks one.
"""

from __future__ import annotations

import time
from typing import Any

import z3
from attrs import frozen
from z3 import z3printer

from raftcheck.impl.types import Message
from raftcheck.model.prove.encoding import Expr, State, Step
from raftcheck.model.prove.invariant import Context, Lemma
from raftcheck.model.prove.worlds import (
    MsgTuple,
    read,
    read_history,
    read_msg,
    to_message,
    to_world,
)
from raftcheck.model.trace import node_changes, show_action, show_log, show_message, show_node
from raftcheck.model.world import (
    Action,
    Crash,
    Deliver,
    Drop,
    Heartbeat,
    Restart,
    Submit,
    Timeout,
    World,
)

MINIMISE_MS = 5000


@frozen
class Cti:
    lemma: str
    statement: str
    action_kind: str
    action: Action
    pre: World
    post: World
    votes: tuple[tuple[int, int, int], ...]  # (node, term, voted for), from the ghost
    minimised: bool
    seconds: float
    witness: str = ""  # the first conjunct of the lemma that is false in the post-state

    def render(self) -> str:
        lines = [f"Counterexample to induction: {self.lemma} broken by {self.action_kind}"
                 f"{'' if self.minimised else ' (not minimised: time cap)'}"]
        lines.append("  pre-state (satisfies every lemma):")
        lines += _state_lines(self.pre)
        if self.votes:
            lines.append("       votes cast: " + " ".join(
                f"n{p}→n{c}@{t}" for p, t, c in self.votes))
        lines.append(f"  1. {show_action(self.action)}")
        for i in range(len(self.post.nodes)):
            changes = node_changes(self.pre.nodes[i], self.post.nodes[i], self.post.disk[i])
            if changes:
                lines.append(f"       n{i}: " + ", ".join(changes))
        for m in _sent(self.pre, self.post, self.action):
            lines.append(f"       sent {show_message(m)}")
        lines.append("  post-state:")
        lines += _state_lines(self.post)
        lines.append(f"  ✗ {self.lemma} violated after step 1: {self.statement}")
        if self.witness:
            lines.append(f"    failing conjunct: {self.witness}")
        return "\n".join(lines)



class ProofInterrupted(Exception):
    """z3 gave up on a query because the process was interrupted (SIGINT)."""


def solve(solver: z3.Solver) -> Any:
    """`solver.check()`; an answer of unknown because z3 was interrupted (it turns SIGINT
    into a canceled query) ends the proof instead of reading as a failed check."""
    verdict = solver.check()
    if verdict == z3.unknown and solver.reason_unknown() in ("canceled",
                                                              "interrupted from keyboard"):
        raise ProofInterrupted(solver.reason_unknown())
    return verdict


def _state_lines(world: World) -> list[str]:
    lines = [f"       n{i}: {show_node(node, world.disk[i])}"
             for i, node in enumerate(world.nodes)]
    for m in world.network:
        lines.append(f"       in flight: {show_message(m)}")
    h = world.history
    if h.leaders:
        lines.append("       ghost leaders: " + " ".join(
            f"n{p}@{t}" for t, p in sorted(h.leaders)))
    if h.committed:
        lines.append("       ghost committed: " + show_log([c.entry for c in h.committed])
                     + " by terms " + ",".join(str(c.term) for c in h.committed))
    return lines


def _sent(pre: World, post: World, action: Action) -> list[Message]:
    before = list(pre.network)
    if isinstance(action, (Deliver, Drop)):
        before.remove(action.message)
    out = list(post.network)
    for m in before:
        if m in out:
            out.remove(m)
    return out


def _cost(s: State) -> Expr:
    parts: list[Expr] = []
    for v in s.nodes:
        parts += [v.term, v.length, v.commit, v.role, z3.If(v.up, 0, 1)]
    for m in s.slots:
        parts += [z3.If(m.present, 3, 0), m.term, m.length]
    g = s.ghost
    parts += [g.committed_len]
    parts += [z3.If(x, 1, 0) for row in g.leader for x in row]
    parts += [z3.If(v != -1, 1, 0) for row in g.vote for v in row]
    return z3.Sum(parts)


def _descend(solver: z3.Solver, cost: Expr, model: z3.ModelRef, deadline: float
             ) -> tuple[z3.ModelRef, bool]:
    """Minimise `cost` over the solver's models by descent: ask for a model cheaper than
    the last one until there is none (then the last is a minimum: `minimised`) or the
    deadline passes (then the cheapest found, not proven minimal).

    Why not z3's Optimize: it starts from scratch (a new context re-internalising the
    invariant and the goal, ~0.3-1.5 s at 3/2/2 before it searches), while the solver that
    found the CTI already holds both, with what it learnt; each `cost < c` is a cheap
    incremental query inside push/pop, and the solver's models jump several units at a
    time, so a handful of queries reach the minimum."""
    solver.push()
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return model, False
            solver.set("timeout", max(1, int(left * 1000)))
            solver.add(cost < model.eval(cost, model_completion=True))
            verdict = solve(solver)
            if verdict == z3.unsat:
                return model, True
            if verdict != z3.sat:  # the deadline hit inside the query
                return model, False
            model = solver.model()
    finally:
        solver.set("timeout", 4294967295)  # z3's "no timeout"
        solver.pop()


def extract_cti(solver: z3.Solver, ctx: Context, pre: State, steps: list[Step], lemma: Lemma,
                minimise: bool, started: float) -> Cti:
    """The CTI in `solver`'s current (sat) model, minimised if asked. `started` is when the
    query that found it began: the CTI's `seconds` are finding plus minimising."""
    model = solver.model()
    minimised = False
    if minimise:
        model, minimised = _descend(solver, _cost(pre), model, started + MINIMISE_MS / 1000)
    step = next(s for s in steps if z3.is_true(model.eval(
        z3.And(s.guard, z3.Not(lemma.formula(ctx, pre, s.post))), model_completion=True)))
    pre_p = read(model, pre)
    post_p = read(model, step.post)
    pre_w = to_world(pre_p, read_history(model, pre))
    post_w = to_world(post_p, read_history(model, step.post))
    action = _action(model, step, pre)
    votes = tuple((p, t, int(model.eval(v, model_completion=True).as_long()))
                  for p, row in enumerate(pre.ghost.vote) for t, v in enumerate(row)
                  if int(model.eval(v, model_completion=True).as_long()) >= 0)
    formula = lemma.formula(ctx, pre, step.post)
    parts = formula.children() if z3.is_and(formula) else [formula]
    witness = next((_short(part) for part in parts
                    if z3.is_false(model.eval(part, model_completion=True))), "")
    return Cti(lemma.name, lemma.statement, step.kind, action, pre_w, post_w, votes, minimised,
               time.monotonic() - started, witness)


def _short(expr: Expr, limit: int = 300) -> str:
    """The start of `expr` as z3 prints it, on one line. z3's printer would lay out the
    whole term first (a conjunct over a log's if-then-else chains takes it ~0.5 s) only for
    all but 300 characters to be cut: its node budget is lowered while it prints."""
    formatter = z3printer._Formatter
    saved = formatter.max_visited
    formatter.max_visited = limit // 3
    try:
        text = " ".join(str(expr).split())
    finally:
        formatter.max_visited = saved
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _action(model: Any, step: Step, pre: State) -> Action:
    if step.kind.startswith("Deliver") or step.kind == "Drop":
        raw: MsgTuple | None = read_msg(model, pre.slots[step.args[0]])
        assert raw is not None
        message = to_message(raw)
        return Deliver(message) if step.kind != "Drop" else Drop(message)
    node = step.args[0]
    if step.kind == "Timeout":
        return Timeout(node)
    if step.kind == "Heartbeat":
        return Heartbeat(node)
    if step.kind == "Crash":
        return Crash(node)
    if step.kind == "Restart":
        return Restart(node)
    return Submit(node, 1)

