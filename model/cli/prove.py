"""`raftcheck prove`: the bounded inductive-invariant proof (model/prove/), or its
counterexamples.

Exit codes (`ProofResult.verdict`): 0 every obligation holds (inductive for the sizes), 1 a
counterexample to induction or a dead action, 2 bad usage, 3 z3 answered unknown.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console
from rich.table import Table

from raftcheck.model.prove.checks import Check, ProofResult, prove
from raftcheck.model.prove.encoding import ACTION_KINDS, NOT_ENCODED, RULES, Sizes
from raftcheck.model.prove.helpers_equiv import PAIRS, Bound, EquivResult, brute_force, prove_pair
from raftcheck.model.prove.invariant import LEMMAS, by_name
from raftcheck.model.verdict import Exit, UsageError, Verdict

SHORT = {"Timeout": "Tmo", "Heartbeat": "HB", "Submit": "Sub", "Deliver(RequestVote)": "RV",
         "Deliver(RequestVoteResponse)": "RVR", "Deliver(AppendEntries)": "AE",
         "Deliver(AppendEntriesResponse)": "AER", "Drop": "Drop", "Crash": "Crash",
         "Restart": "Rst"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--nodes", type=int, default=3, help="cluster size (default: 3)")
    parser.add_argument("--max-term", type=int, default=3, help="terms ≤ this (default: 3)")
    parser.add_argument("--max-log", type=int, default=3, help="log length ≤ this (default: 3)")
    parser.add_argument("--max-messages", type=int, default=4,
                        help="message slots: messages in flight ≤ this (default: 4)")
    parser.add_argument("--core", default="raft",
                        help="the rule set: raft or a zoo bug's name (see --list-cores; every "
                             "zoo bug but count-duplicate-votes is encoded)")
    parser.add_argument("--drop", action="append", default=[], metavar="LEMMA",
                        help="leave an auxiliary lemma out, to see which CTI needs it "
                             "(repeatable; see --lemmas)")
    parser.add_argument("--first-cti", action="store_true",
                        help="stop at the first counterexample to induction")
    parser.add_argument("--no-minimise", action="store_true", help="report CTIs as found")
    parser.add_argument("--lemmas", action="store_true", help="list the lemmas and exit")
    parser.add_argument("--helpers", action="store_true",
                        help="prove the refactored helpers equivalent instead (up-to-date "
                             "check, commit advancement, conflict handling)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary only")


def run(args: argparse.Namespace) -> int:
    """`raftcheck prove`: bad input raises UsageError, which `main` reports in one line"""
    if args.lemmas:
        if args.json:
            print(json.dumps([{"name": lemma.name, "figure_3": lemma.figure3,
                               "statement": lemma.statement} for lemma in LEMMAS], indent=2))
            return Exit.CLEAN
        for lemma in LEMMAS:
            tag = "Figure 3" if lemma.figure3 else "auxiliary"
            print(f"{lemma.name:34s} [{tag}] {lemma.statement}")
        return Exit.CLEAN
    if args.nodes < 2 and not args.helpers:
        raise UsageError("--nodes must be at least 2: a single server sends no messages, so "
                         "no action of the message-passing encoding is ever enabled")
    try:
        sizes = Sizes(args.nodes, args.max_term, args.max_log, args.max_messages)
    except ValueError as error:
        raise UsageError(str(error).replace("--slots", "--max-messages")) from None
    if args.helpers:
        return _helpers(sizes, args.json)
    if args.core in NOT_ENCODED:
        raise UsageError(f"core {args.core!r} cannot be encoded: {NOT_ENCODED[args.core]}")
    if args.core not in RULES:
        raise UsageError(f"no z3 rule set for core {args.core!r}: use one of "
                              f"{', '.join(sorted(RULES))}")
    dropped: list[str] = []
    for name in args.drop:
        try:
            dropped.append(by_name(name).name)
        except KeyError:
            raise UsageError(f"unknown lemma {name!r} (see raftcheck prove --lemmas)"
                                  ) from None
    console = Console(stderr=True)
    progress = not args.json and console.is_terminal
    done = [0]
    total = len(LEMMAS) - len(dropped)
    expected = total * (1 + len(ACTION_KINDS)) + len(ACTION_KINDS)

    def tick(check: Check) -> None:
        done[0] += 1
        if progress:
            console.print(f"\r{done[0]}/{expected} checks", end="")

    result = prove(sizes, RULES[args.core], tuple(dropped), minimise=not args.no_minimise,
                   first_cti_only=args.first_cti, on_check=tick)
    if progress:
        console.print()
    return _report(result, args.json)


def verdict(result: ProofResult) -> str:
    """The JSON summary's words for `result.verdict`."""
    if result.verdict is Verdict.INDUCTIVE:
        return f"inductive for {result.sizes.describe()}"
    if result.interrupted:
        return "interrupted"
    if result.verdict is Verdict.INCONCLUSIVE:
        return "unknown"
    return "not inductive"


def summary(result: ProofResult) -> dict[str, Any]:
    return {
        "engine": "prove",
        "core": result.rules,
        "sizes": {"nodes": result.sizes.nodes, "max_term": result.sizes.max_term,
                  "max_log": result.sizes.max_log, "max_messages": result.sizes.slots},
        "dropped": list(result.dropped),
        "verdict": verdict(result),
        "seconds": round(result.seconds, 2),
        "checks": [{"kind": c.kind, "action": c.action, "lemma": c.lemma, "ok": c.ok,
                    "seconds": round(c.seconds, 3), "detail": c.detail}
                   for c in result.checks],
        "ctis": [{"lemma": c.lemma, "action": c.action_kind, "action_repr": repr(c.action),
                  "minimised": c.minimised, "seconds": round(c.seconds, 3),
                  "trace": c.render()} for c in result.ctis],
    }


def _report(result: ProofResult, as_json: bool) -> int:
    code = result.verdict.exit_code
    if as_json:
        print(json.dumps(summary(result), indent=2))
        return code
    s = result.sizes
    print(f"raftcheck prove: core={result.rules} nodes={s.nodes} term≤{s.max_term} "
          f"log≤{s.max_log} messages≤{s.slots}"
          + (f" dropped: {', '.join(result.dropped)}" if result.dropped else ""))
    Console(width=160).print(_table(result))
    for cti in result.ctis:
        print()
        print(cti.render())
        print(f"  (found and minimised in {cti.seconds:.2f} s)")
    dead = [c.action for c in result.checks if c.kind == "enabledness" and not c.ok]
    print()
    if result.interrupted:
        print(f"INTERRUPTED after {len(result.checks)} checks in {result.seconds:.1f} s: no "
              "verdict (the table shows the checks that ran)")
    elif result.inductive:
        print(f"INDUCTIVE for {s.describe()} (messages≤{s.slots}): {len(result.checks)} "
              f"checks in {result.seconds:.1f} s")
    elif dead:
        print(f"NOT PROVEN: actions never enabled under the invariant: {', '.join(dead)}")
    else:
        print(f"NOT INDUCTIVE for {s.describe()}: {len(result.ctis)} counterexample(s) to "
              f"induction, {len(result.failed())} failed check(s)")
    return code


def _table(result: ProofResult) -> Table:
    table = Table(title="obligations (✓ proven, ✗ failed, · not run)")
    table.add_column("lemma")
    table.add_column("init")
    actions = [a for a in ACTION_KINDS]
    for action in actions:
        table.add_column(SHORT[action])
    cells: dict[tuple[str, str, str], bool] = {
        (c.kind, c.action, c.lemma): c.ok for c in result.checks}

    def mark(key: tuple[str, str, str]) -> str:
        if key not in cells:
            return "·"
        return "✓" if cells[key] else "[red]✗[/red]"

    names = [lemma.name for lemma in LEMMAS if lemma.name not in result.dropped]
    for name in names:
        table.add_row(name, mark(("initiation", "", name)),
                      *(mark(("consecution", a, name)) for a in actions))
    table.add_row("[bold]enabled[/bold]", "", *(mark(("enabledness", a, "")) for a in actions))
    return table


def _helpers(sizes: Sizes, as_json: bool) -> int:
    bound = Bound(sizes.nodes, sizes.max_term, sizes.max_log)
    results: list[tuple[EquivResult, int, list[str]]] = []
    for pair in PAIRS:
        tried, problems = brute_force(pair, bound)
        results.append((prove_pair(pair, bound), tried, problems))
    ok = all(r.equal and not problems for r, _, problems in results)
    helpers_verdict = Verdict.EQUIVALENT if ok else Verdict.DIVERGENT
    if as_json:
        print(json.dumps([{"pair": r.pair, "equal": r.equal, "seconds": round(r.seconds, 3),
                           "counterexample": r.counterexample, "brute_force_inputs": tried,
                           "brute_force_problems": problems} for r, tried, problems in results],
                         indent=2))
        return helpers_verdict.exit_code
    print(f"raftcheck prove --helpers: nodes={bound.nodes} term≤{bound.max_term} "
          f"log≤{bound.max_log}")
    for (r, tried, problems), pair in zip(results, PAIRS, strict=True):
        print(r.render())
        print(f"  precondition: {pair.precondition_text}; brute force over {tried} inputs "
              f"(and the real RaftCore method): "
              + ("agree" if not problems else "; ".join(problems[:3])))
    print("EQUAL up to the bound" if ok else "DIFFERENT: see the counterexample above")
    return helpers_verdict.exit_code
