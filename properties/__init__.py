"""What must hold: Raft's Figure 3 safety properties, auxiliary invariants that catch bugs
earlier, and reachability goals. Plain predicates, importable by every engine; nothing here
imports hypothesis or z3."""

from __future__ import annotations

from collections.abc import Callable

from raftcheck.model.world import World
from raftcheck.properties.goals import GOALS, goals_reached
from raftcheck.properties.safety import (
    COMMIT_WITHIN_LOG,
    ELECTION_SAFETY,
    LEADER_APPEND_ONLY,
    LEADER_COMPLETENESS,
    LOG_MATCHING,
    STATE_MACHINE_SAFETY,
    commit_within_log,
    election_safety,
    leader_completeness,
    log_matching,
    state_machine_safety,
)
from raftcheck.properties.transitions import (
    COMMIT_MONOTONICITY,
    COMMITTED_ENTRIES_KEPT,
    ELECTED_BY_MAJORITY,
    SINGLE_VOTE_PER_TERM,
    TERM_MONOTONICITY,
    commit_monotonicity,
    committed_entries_kept,
    elected_by_majority,
    leader_append_only,
    single_vote_per_term,
    term_monotonicity,
)
from raftcheck.properties.violation import Violation

StateProperty = Callable[[World], "Violation | None"]
TransitionProperty = Callable[[World, World], "Violation | None"]

# Figure 3 first, in the paper's order; auxiliaries after.
STATE_PROPERTIES: dict[str, StateProperty] = {
    ELECTION_SAFETY: election_safety,
    LOG_MATCHING: log_matching,
    LEADER_COMPLETENESS: leader_completeness,
    STATE_MACHINE_SAFETY: state_machine_safety,
    COMMIT_WITHIN_LOG: commit_within_log,
}
TRANSITION_PROPERTIES: dict[str, TransitionProperty] = {
    LEADER_APPEND_ONLY: leader_append_only,
    TERM_MONOTONICITY: term_monotonicity,
    SINGLE_VOTE_PER_TERM: single_vote_per_term,
    ELECTED_BY_MAJORITY: elected_by_majority,
    COMMIT_MONOTONICITY: commit_monotonicity,
    COMMITTED_ENTRIES_KEPT: committed_entries_kept,
}
FIGURE_3 = (ELECTION_SAFETY, LEADER_APPEND_ONLY, LOG_MATCHING, LEADER_COMPLETENESS,
            STATE_MACHINE_SAFETY)


def check_state(world: World) -> Violation | None:
    """The first state property `world` violates, or None."""
    for prop in STATE_PROPERTIES.values():
        violation = prop(world)
        if violation is not None:
            return violation
    return None


def check_transition(before: World, after: World) -> Violation | None:
    """The first property the transition before -> after violates (transition properties
    first, then the state properties of `after`), or None."""
    for prop in TRANSITION_PROPERTIES.values():
        violation = prop(before, after)
        if violation is not None:
            return violation
    return check_state(after)


__all__ = [
    "FIGURE_3",
    "GOALS",
    "STATE_PROPERTIES",
    "TRANSITION_PROPERTIES",
    "Violation",
    "check_state",
    "check_transition",
    "goals_reached",
]
