"""The proof obligations, each reported on its own:

* initiation, per lemma: Init ⇒ lemma;
* consecution, per (action, lemma): Inv ∧ guard ⇒ lemma' (for one representative of each
  action's orbit under node and slot permutations; the invariant is symmetric);
* enabledness, per action: Inv ∧ guard ∧ post ≠ pre is satisfiable — an action the encoding
  disables (or makes a no-op) would otherwise "prove" anything about it.

The invariant is inductive for the sizes when every obligation passes. A failed consecution
comes with its counterexample to induction (`model.prove.cti`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import z3
from attrs import field, frozen

from raftcheck.model.prove.cti import Cti, ProofInterrupted, extract_cti, solve
from raftcheck.model.prove.encoding import (
    ACTION_KINDS,
    CORRECT,
    Encoding,
    Expr,
    Rules,
    Sizes,
    State,
    fresh_state,
    initial,
    state_equal,
)
from raftcheck.model.prove.invariant import LEMMAS, Context, Lemma
from raftcheck.model.verdict import Verdict


@frozen
class Check:
    kind: str  # initiation | consecution | enabledness
    action: str  # "" for initiation
    lemma: str  # "" for enabledness
    ok: bool
    seconds: float
    detail: str = ""


@frozen
class ProofResult:
    sizes: Sizes
    rules: str
    dropped: tuple[str, ...]
    checks: tuple[Check, ...]
    ctis: tuple[Cti, ...] = field(factory=tuple)
    seconds: float = 0.0
    interrupted: bool = False  # SIGINT/SIGTERM stopped it: the checks run are all there is

    @property
    def inductive(self) -> bool:
        return not self.interrupted and all(check.ok for check in self.checks)

    def failed(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]

    @property
    def verdict(self) -> Verdict:
        """INDUCTIVE; INCONCLUSIVE when z3 answered unknown; else NOT_INDUCTIVE (a
        counterexample to induction, or an action never enabled under the invariant)."""
        if self.inductive:
            return Verdict.INDUCTIVE
        if self.interrupted or any(check.detail == "unknown" for check in self.failed()):
            return Verdict.INCONCLUSIVE
        return Verdict.NOT_INDUCTIVE


def packed(pre: State) -> Expr:
    """Symmetry breaking over slots: the messages in flight occupy slots 1.. without holes
    (slot 0 is the one the representative action delivers or drops, present or not). Every
    state is a slot permutation of one of these, and the invariant is slot-symmetric, so
    no counterexample is lost; the solver stops trying every arrangement of the bag."""
    slots = pre.slots
    return z3.And([z3.Implies(slots[s + 1].present, slots[s].present)
                   for s in range(1, len(slots) - 1)])


def _conjuncts(formula: Expr) -> set[int]:
    """The AST ids of a formula's conjuncts, nested Ands flattened."""
    out: set[int] = set()
    stack = [formula]
    while stack:
        f = stack.pop()
        if z3.is_and(f):
            stack.extend(f.children())
        else:
            out.add(f.get_id())
    return out


def _changed(formula: Expr, known: set[int]) -> Expr:
    """`formula` without the conjuncts that are literally conjuncts of the invariant (an
    action leaves most of the state as the same z3 terms, and z3 hash-conses terms, so a
    conjunct over untouched variables is the very same AST): the invariant already asserts
    them, so dropping them from the goal is sound and makes the query much smaller."""
    parts: list[Expr] = []
    stack = [formula]
    while stack:
        f = stack.pop()
        if z3.is_and(f):
            stack.extend(f.children())
        elif f.get_id() not in known:
            parts.append(f)
    return z3.And(parts) if parts else z3.BoolVal(True)


def prove(sizes: Sizes | None = None, rules: Rules = CORRECT, drop: tuple[str, ...] = (),
          actions: tuple[str, ...] = ACTION_KINDS, lemmas: tuple[Lemma, ...] | None = None,
          minimise: bool = True, first_cti_only: bool = False,
          on_check: Callable[[Check], None] | None = None) -> ProofResult:
    """Run every obligation for `sizes` with the lemmas minus `drop`. With
    `first_cti_only`, stop at the first failed consecution (the CLI's default is to run
    them all, so the table shows every weak spot)."""
    started = time.monotonic()
    sizes = sizes or Sizes()
    chosen = tuple(lemma for lemma in (lemmas or LEMMAS) if lemma.name not in drop)
    encoding = Encoding(sizes, rules)
    ctx: Context = (sizes, rules.quorum(sizes.nodes))
    checks: list[Check] = []
    ctis: list[Cti] = []

    def record(check: Check) -> None:
        checks.append(check)
        if on_check is not None:
            on_check(check)

    try:
        pre = fresh_state(sizes, "")
        # each lemma's formula on the pre-state is built once: initiation and the invariant
        # share it (building formulas, not solving, is most of a small proof's time)
        formulas = [lemma.formula(ctx, pre) for lemma in chosen]
        # initiation: one solver holding the initial states, a push/pop per lemma
        solver = z3.Solver()
        solver.add(initial(sizes, pre))
        for lemma, formula in zip(chosen, formulas, strict=True):
            t0 = time.monotonic()
            solver.push()
            solver.add(z3.Not(formula))
            ok = solve(solver) == z3.unsat
            solver.pop()
            record(Check("initiation", "", lemma.name, ok, time.monotonic() - t0,
                         "" if ok else "an initial state breaks it"))
        steps = encoding.steps(pre, symmetric=True)
        inv = z3.And([f for lemma, f in zip(chosen, formulas, strict=True)
                      if lemma.holds is not None])
        known = _conjuncts(inv)
        solver = z3.Solver()
        solver.add(inv, packed(pre))
        for action in actions:
            mine = [step for step in steps if step.kind == action]
            # enabledness: the action can fire, and change something, under the invariant
            t0 = time.monotonic()
            solver.push()
            solver.add(z3.Or([z3.And(s.guard, z3.Not(state_equal(s.post, pre))) for s in mine]))
            verdict = solve(solver)
            solver.pop()
            ok = verdict == z3.sat
            record(Check("enabledness", action, "", ok, time.monotonic() - t0,
                         "" if ok else
                         f"never enabled (or a no-op) under the invariant: {verdict}"))
            # the action's guard is asserted once for all its lemmas, so z3 propagates it once
            # rather than per check (about an eighth off the 3/3/3 proof; naming the changed
            # post-state variables instead made it slower)
            solver.push()
            solver.add(z3.Or([s.guard for s in mine]))
            for lemma in chosen:
                t0 = time.monotonic()
                goals = [z3.And(s.guard, z3.Not(_changed(lemma.formula(ctx, pre, s.post), known)))
                         for s in mine]
                solver.push()
                solver.add(z3.Or(goals))
                verdict = solve(solver)
                cti = None
                if verdict == z3.sat:
                    cti = extract_cti(solver, ctx, pre, mine, lemma, minimise, t0)
                solver.pop()
                ok = verdict == z3.unsat
                record(Check("consecution", action, lemma.name, ok, time.monotonic() - t0,
                             "" if ok else ("unknown" if verdict == z3.unknown else "CTI")))
                if cti is not None:
                    ctis.append(cti)
                    if first_cti_only:
                        solver.pop()
                        return ProofResult(sizes, rules.name, drop, tuple(checks), tuple(ctis),
                                           time.monotonic() - started)
            solver.pop()
    except (ProofInterrupted, KeyboardInterrupt):  # no verdict: what ran is reported
        return ProofResult(sizes, rules.name, drop, tuple(checks), tuple(ctis),
                           time.monotonic() - started, interrupted=True)
    return ProofResult(sizes, rules.name, drop, tuple(checks), tuple(ctis),
                       time.monotonic() - started)
