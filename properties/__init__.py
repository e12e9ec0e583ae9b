"""What must hold: Raft's Figure 3 safety properties, auxiliary invariants that catch bugs
earlier, and reachability goals. Plain predicates, importable by every engine; nothing here
imports hypothesis or z3."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from attrs import field, frozen

from raftcheck.properties.goals import GOALS, POSSIBLE, goals_reached
from raftcheck.properties.progress import (
    ENTRY_COMMITTED,
    FOLLOWER_CAUGHT_UP,
    LEADER_ELECTED,
    LEADER_STABLE,
    REQUEST_APPLIED,
    Progress,
    entry_uncommitted,
    follower_behind,
    leader_elected,
    leader_stable,
    request_applied,
)
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

if TYPE_CHECKING:  # the state types, for annotations only
    from raftcheck.model.state import Bounds, Config, World

StateProperty: TypeAlias = "Callable[[World], Violation | None]"
TransitionProperty: TypeAlias = "Callable[[World, World], Violation | None]"
Goal: TypeAlias = "Callable[[World], bool]"
Possible: TypeAlias = "Callable[[Config, Bounds], bool]"
ProgressProperty: TypeAlias = "Callable[[Config, Progress], Violation | None]"
Kind = Literal["always", "transition", "sometimes", "eventually", "fair"]


@frozen
class Property:
    """A property as a value (Stateright's `Property::always/sometimes`): a name, a kind and
    its check. `always` holds in every state (a `StateProperty`), `transition` on every step
    (before, after), `sometimes` is a reachability goal (a run that never reaches it proves
    little), `eventually` a progress property: something that must happen within a deadline
    once the faults stop (a `ProgressProperty`, checked over the timed world's stabilisation
    phase; properties/progress.py), `fair` a progress property of the untimed world: its
    check is a `StateProperty` saying the cluster is *stuck* (with a witness), and no fair
    cycle of the stable world may be stuck in every state with the same witness (checked by
    the exhaustive lasso search, model/search/lasso.py). A model carries its properties
    (`Properties`), so a user adds or selects them and every engine checks what the model
    carries. A goal's `possible` says whether a configuration and bounds allow it at all
    (None: always)."""

    name: str
    kind: Kind
    check: Callable[..., Any]
    possible: Possible | None = None

    @classmethod
    def always(cls, name: str, check: StateProperty) -> Property:
        return cls(name, "always", check)

    @classmethod
    def transition(cls, name: str, check: TransitionProperty) -> Property:
        return cls(name, "transition", check)

    @classmethod
    def sometimes(cls, name: str, reached: Goal, possible: Possible | None = None) -> Property:
        return cls(name, "sometimes", reached, possible)

    @classmethod
    def eventually(cls, name: str, check: ProgressProperty) -> Property:
        return cls(name, "eventually", check)

    @classmethod
    def fair(cls, name: str, stuck: StateProperty) -> Property:
        return cls(name, "fair", stuck)


@frozen
class Properties:
    """The properties a model carries, in checking order: transition properties before
    state properties on each step (a double vote is reported before the double leader it
    leads to), Figure 3 before the auxiliaries."""

    all: tuple[Property, ...]
    states: tuple[StateProperty, ...] = field(init=False, eq=False, repr=False)
    transitions: tuple[TransitionProperty, ...] = field(init=False, eq=False, repr=False)
    goals: tuple[tuple[str, Goal], ...] = field(init=False, eq=False, repr=False)
    progress: tuple[tuple[str, ProgressProperty], ...] = field(init=False, eq=False,
                                                                repr=False)
    fair: tuple[tuple[str, StateProperty], ...] = field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        names = [prop.name for prop in self.all]
        if len(set(names)) != len(names):
            raise ValueError(f"two properties share a name: {names}")
        by_kind = {kind: tuple(p.check for p in self.all if p.kind == kind)
                   for kind in ("always", "transition")}
        object.__setattr__(self, "states", by_kind["always"])
        object.__setattr__(self, "transitions", by_kind["transition"])
        object.__setattr__(self, "goals", tuple((p.name, p.check) for p in self.all
                                                if p.kind == "sometimes"))
        object.__setattr__(self, "progress", tuple((p.name, p.check) for p in self.all
                                                   if p.kind == "eventually"))
        object.__setattr__(self, "fair", tuple((p.name, p.check) for p in self.all
                                               if p.kind == "fair"))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(prop.name for prop in self.all)

    @property
    def goal_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.goals)

    def check_state(self, world: World) -> Violation | None:
        """The first state property `world` violates, or None."""
        for prop in self.states:
            violation = prop(world)
            if violation is not None:
                return violation
        return None

    def check_transition(self, before: World, after: World) -> Violation | None:
        """The first property the step before -> after violates (transition properties
        first, then the state properties of `after`), or None."""
        return self.check_transition_only(before, after) or self.check_state(after)

    def check_transition_only(self, before: World, after: World) -> Violation | None:
        """The first transition property the step violates (the state properties of
        `after` not checked: a search that has checked that state, or one symmetric to it,
        already did)."""
        for prop in self.transitions:
            violation = prop(before, after)
            if violation is not None:
                return violation
        return None

    @property
    def transition_names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.all if p.kind == "transition")

    @property
    def progress_names(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.progress)

    @property
    def fair_names(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.fair)

    def check_progress(self, config: Config, progress: Progress) -> Violation | None:
        """The first progress property the stabilisation phase so far violates, or None."""
        for _, prop in self.progress:
            violation = prop(config, progress)
            if violation is not None:
                return violation
        return None

    def goals_reached(self, world: World) -> frozenset[str]:
        return frozenset(name for name, reached in self.goals if reached(world))

    def goals_within(self, config: Config, bounds: Bounds) -> tuple[str, ...]:
        """The goals `config` and `bounds` allow (the others are ruled out, not missed)."""
        return tuple(p.name for p in self.all if p.kind == "sometimes"
                     and (p.possible is None or p.possible(config, bounds)))

    def adding(self, *extra: Property) -> Properties:
        return Properties((*self.all, *extra))

    def selecting(self, names: Iterable[str]) -> Properties:
        """Only the safety and progress properties named (goals are kept: they say whether
        a run proves anything). Raises ValueError naming an unknown property."""
        wanted = set(self._known(names))
        return Properties(tuple(p for p in self.all if p.name in wanted
                                or p.kind == "sometimes"))

    def ignoring(self, names: Iterable[str]) -> Properties:
        unwanted = set(self._known(names))
        return Properties(tuple(p for p in self.all if p.name not in unwanted))

    def _known(self, names: Iterable[str]) -> list[str]:
        by_lower = {name.lower(): name for name in self.names}
        known = []
        for name in names:
            if name.lower() not in by_lower:
                raise ValueError(f"unknown property {name!r}; the model carries: "
                                 f"{', '.join(self.names)}")
            known.append(by_lower[name.lower()])
        return known


# Figure 3 first, in the paper's order; auxiliaries after.
RAFT_PROPERTIES = Properties((
    Property.always(ELECTION_SAFETY, election_safety),
    Property.always(LOG_MATCHING, log_matching),
    Property.always(LEADER_COMPLETENESS, leader_completeness),
    Property.always(STATE_MACHINE_SAFETY, state_machine_safety),
    Property.always(COMMIT_WITHIN_LOG, commit_within_log),
    Property.transition(LEADER_APPEND_ONLY, leader_append_only),
    Property.transition(TERM_MONOTONICITY, term_monotonicity),
    Property.transition(SINGLE_VOTE_PER_TERM, single_vote_per_term),
    Property.transition(ELECTED_BY_MAJORITY, elected_by_majority),
    Property.transition(COMMIT_MONOTONICITY, commit_monotonicity),
    Property.transition(COMMITTED_ENTRIES_KEPT, committed_entries_kept),
    *(Property.sometimes(name, reached, POSSIBLE[name]) for name, reached in GOALS.items()),
))

STATE_PROPERTIES: dict[str, StateProperty] = {
    p.name: p.check for p in RAFT_PROPERTIES.all if p.kind == "always"}
TRANSITION_PROPERTIES: dict[str, TransitionProperty] = {
    p.name: p.check for p in RAFT_PROPERTIES.all if p.kind == "transition"}
FIGURE_3 = (ELECTION_SAFETY, LEADER_APPEND_ONLY, LOG_MATCHING, LEADER_COMPLETENESS,
            STATE_MACHINE_SAFETY)

# Progress properties, which a user opts into (`RAFT_PROPERTIES.adding(*LIVENESS.all)`,
# `--liveness`, or naming one with `--property`). The timed ones are checked by the
# Hypothesis engine, over a stabilisation phase after each run (model/liveness.py); the
# untimed ones by the exhaustive lasso search, on fair cycles (model/search/lasso.py).
LIVENESS_TIMED = Properties((
    Property.eventually(LEADER_ELECTED, leader_elected),
    Property.eventually(REQUEST_APPLIED, request_applied),
    Property.eventually(LEADER_STABLE, leader_stable),
))
LIVENESS_UNTIMED = Properties((
    Property.fair(ENTRY_COMMITTED, entry_uncommitted),
    Property.fair(FOLLOWER_CAUGHT_UP, follower_behind),
))
LIVENESS = LIVENESS_TIMED.adding(*LIVENESS_UNTIMED.all)
# Every property this package defines, to resolve names against.
ALL_PROPERTIES = RAFT_PROPERTIES.adding(*LIVENESS.all)


def with_liveness(timed: bool) -> Properties:
    """The safety properties plus the progress properties the world can check: the
    deadlines of the timed world, or the fair cycles of the untimed one."""
    return RAFT_PROPERTIES.adding(*(LIVENESS_TIMED if timed else LIVENESS_UNTIMED).all)

check_state = RAFT_PROPERTIES.check_state
check_transition = RAFT_PROPERTIES.check_transition


__all__ = [
    "ALL_PROPERTIES",
    "FIGURE_3",
    "GOALS",
    "LIVENESS",
    "LIVENESS_TIMED",
    "LIVENESS_UNTIMED",
    "RAFT_PROPERTIES",
    "STATE_PROPERTIES",
    "TRANSITION_PROPERTIES",
    "Properties",
    "Property",
    "Violation",
    "check_state",
    "check_transition",
    "goals_reached",
]
