"""What a fuzz run concluded, as a `Verdict` and as the JSON summary `raftcheck fuzz --json`
and `raftcheck check` print. Pure functions of a `FuzzResult` (model/fuzz.py)."""

from __future__ import annotations

from typing import Any

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
