"""What a fuzz run concluded, as a `Verdict` and as the JSON summary `raftcheck fuzz --json`
and `raftcheck check` print. Pure functions of a `FuzzResult` (model/fuzz.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from attrs import frozen

from raftcheck.model.fuzz import FuzzResult
from raftcheck.model.verdict import Verdict
from raftcheck.model.world import Model


def fuzz_verdict(result: FuzzResult) -> Verdict:
    """VIOLATION on a violation (or core fault); CLEAN when every goal the bounds allow was
    reached; INCONCLUSIVE when some goal never was, or none at all (a run that never gets
    there checks little)."""
    if result.violation is not None:
        return Verdict.VIOLATION
    return Verdict.CLEAN if result.goals and not result.missing_goals \
        else Verdict.INCONCLUSIVE


def fuzz_summary(result: FuzzResult, model: Model) -> dict[str, Any]:
    return {
        "engine": "fuzz",
        "core": model.core.name,
        "nodes": model.config.cluster_size,
        "timing": model.config.timing,
        "bounds": model.bounds.describe(),
        "seed": result.seed,
        "profile": result.profile,
        "examples": result.examples,
        "steps": result.steps,
        "distinct_states": result.distinct_states,
        "seconds": round(result.seconds, 3),
        "goals_reached": sorted(result.goals),
        "goals_missing": result.missing_goals,
        "goals_ruled_out": list(result.ruled_out),
        "verdict": fuzz_verdict(result).value.lower(),  # clean | violation | inconclusive
        "violation": None if result.violation is None else {
            "property": result.violation.property,
            "detail": result.violation.detail,
            "why": result.violation.why,
            "nodes": list(result.violation.nodes),
            "index": result.violation.index,
            "term": result.violation.term,
            "trace_length": len(result.actions),
            "actions": [repr(action) for action in result.actions],
        },
    }


@frozen
class RoundReport:
    """One round of a search for every property broken (`--continue`), as its report shows
    it, for any engine that has rounds."""

    seed: int
    ignoring: tuple[str, ...]  # the properties broken in the rounds before
    examples: int
    violated: str | None  # the property it broke (a core fault counts)
    text: str | None  # printed under the round's header: its trace and verdict (None: none)
    summary: dict[str, Any]  # its JSON summary


def report_rounds(rounds: Sequence[RoundReport], seed: int, verdict: Verdict,
                  as_json: bool) -> None:
    """Print a --continue search: each round that found something (a header, its text),
    then the properties broken and the verdict; or all of it as one JSON object."""
    runs = sum(r.examples for r in rounds)
    names = [r.violated for r in rounds if r.violated is not None]
    if as_json:
        print(json.dumps({"engine": "fuzz", "continue": True, "seed": seed, "runs": runs,
                          "verdict": verdict.value.lower(), "violated": names,
                          "rounds": [r.summary for r in rounds]}, indent=2))
        return
    for number, found in enumerate(rounds, 1):
        if found.text is not None:
            print(f"\n=== round {number} (seed {found.seed}, ignoring: "
                  f"{', '.join(found.ignoring) or 'nothing'})")
            print(found.text)
    print(f"\n{len(names)} properties broken in {runs} runs: {', '.join(names)}" if names
          else f"\n{runs} runs: no property broken")
    print(verdict.value)
