"""Counterexamples to induction: a state satisfying the invariant, an action, and a
post-state breaking one lemma — minimised and printed in `model.trace`'s notation.

Minimisation is z3's Optimize over a size measure (terms, log lengths, messages in flight,
commit indices, roles, down nodes, the ghost history), with a time cap; when the cap is hit the
unminimised model is reported and marked as such. A CTI is not necessarily a reachable state:
it says the lemmas are too weak, or (with a broken rule) that the rule breaks one.
"""

from __future__ import annotations

import time
from typing import Any

import z3
from attrs import frozen

from impl.types import Message
from model.prove.encoding import Encoding, Expr, State, Step
from model.prove.invariant import Context, Lemma
from model.prove.worlds import (
    MsgTuple,
    read,
    read_history,
    read_msg,
    to_message,
    to_world,
)
from model.trace import node_changes, show_action, show_log, show_message, show_node
from model.world import Action, Crash, Deliver, Drop, Heartbeat, Restart, Submit, Timeout, World

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


def extract_cti(solver: z3.Solver, encoding: Encoding, ctx: Context, inv: Expr, pre: State,
                steps: list[Step], lemma: Lemma, minimise: bool) -> Cti:
    """The CTI in `solver`'s current (sat) model, minimised if asked."""
    started = time.monotonic()
    model = solver.model()
    minimised = False
    if minimise:
        opt = z3.Optimize()
        opt.set("timeout", MINIMISE_MS)
        opt.add(inv)
        opt.add(z3.Or([z3.And(s.guard, z3.Not(lemma.formula(ctx, pre, s.post)))
                       for s in steps]))
        opt.minimize(_cost(pre))
        if opt.check() == z3.sat:
            model, minimised = opt.model(), True
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
    witness = next((" ".join(str(part).split()) for part in parts
                    if z3.is_false(model.eval(part, model_completion=True))), "")
    if len(witness) > 300:
        witness = witness[:297] + "..."
    return Cti(lemma.name, lemma.statement, step.kind, action, pre_w, post_w, votes, minimised,
               time.monotonic() - started, witness)


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

