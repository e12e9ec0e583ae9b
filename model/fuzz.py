"""`raftcheck fuzz`: run the Hypothesis engine against a core for a budget, reproducibly.

The budget is spent in batches of examples, batch k seeded with (seed, k), so a run is
determined by its seed and its example budget (a time budget only decides how many batches
run). Hypothesis' example database is off: the seed, not a local cache, reproduces a run.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from attrs import frozen
from hypothesis import Phase
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import HypothesisException
from hypothesis.stateful import run_state_machine_as_test

from model.shrink import polish, shrink
from model.stateful import PROFILES, PropertyViolated, RunStats, build_machine, profile_settings
from model.trace import render_trace, replayable
from model.world import Action, Model
from properties import GOALS, Violation

BATCH = 50


@frozen
class FuzzResult:
    seed: int
    profile: str
    examples: int
    steps: int
    distinct_states: int
    seconds: float
    goals: frozenset[str]
    violation: Violation | None
    actions: tuple[Action, ...]
    trace: str | None
    found_after: float = 0.0  # seconds to the first failing run, before shrinking
    found_length: int = 0  # that run's length, before shrinking

    @property
    def missing_goals(self) -> list[str]:
        return [goal for goal in GOALS if goal not in self.goals]


@contextmanager
def without_local_constants() -> Iterator[None]:
    """Hypothesis occasionally draws "interesting" constants mined from every local module
    that happens to be imported. That makes a seeded run depend on what else the process
    imported (the CLI, a single test file and the full test suite each see a different pool),
    so the same seed found different runs. Inside this block the pool is empty and a seed
    means one run. (Private Hypothesis API; the version is pinned in constraints.txt, and if
    the hook disappears this degrades to Hypothesis' default behaviour.)"""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover
        yield
        return
    original = getattr(providers, "_get_local_constants", None)
    constants = getattr(providers, "Constants", None)
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    if original is None or constants is None or cache is None:  # pragma: no cover
        yield
        return
    empty = constants()
    providers._get_local_constants = lambda: empty
    cache.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = original
        cache.cache.clear()


def batch_seed(seed: int, batch: int) -> int:
    return zlib.crc32(f"{seed}:{batch}".encode())


def fuzz(
    model: Model,
    *,
    seed: int = 0,
    profile: str = "ci",
    examples: int | None = None,
    seconds: float | None = None,
    steps: int | None = None,
    on_progress: Callable[[RunStats], None] | None = None,
) -> FuzzResult:
    """Explore `model` with Hypothesis until `examples` runs (default: the profile's) or
    `seconds` have been spent, or a property fails. The failing run is shrunk."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
    budget = examples if examples is not None else (
        None if seconds is not None else PROFILES[profile]["max_examples"])
    stats = RunStats(on_step=on_progress)
    started = time.monotonic()
    violation: PropertyViolated | None = None
    found_after = 0.0
    batch = 0
    while violation is None:
        done = stats.examples
        if budget is not None and done >= budget:
            break
        if seconds is not None and time.monotonic() - started >= seconds:
            break
        size = BATCH if budget is None else min(BATCH, budget - done)
        # Hypothesis finds; the action-level shrinker (model.shrink) minimises, in seconds
        # where Hypothesis' choice-sequence shrinker takes minutes on long Raft runs.
        overrides: dict[str, Any] = {"max_examples": size,
                                     "phases": (Phase.explicit, Phase.generate)}
        if steps is not None:
            overrides["stateful_step_count"] = steps
        machine = hypothesis_seed(batch_seed(seed, batch))(build_machine(model, stats))
        try:
            with without_local_constants():
                run_state_machine_as_test(  # type: ignore[no-untyped-call, unused-ignore]
                    machine, settings=profile_settings(profile, **overrides))
        except PropertyViolated as error:
            violation = error
            found_after = time.monotonic() - started
        except HypothesisException as error:  # pragma: no cover - a bug in the machine
            raise RuntimeError(f"the Hypothesis engine failed: {error}") from error
        batch += 1
    actions: list[Action] = []
    found: Violation | None = None
    trace: str | None = None
    if violation is not None:
        actions, found = shrink(model, violation.actions)
        actions, found = polish(model, actions, found)
        trace = (render_trace(model, actions, found, title="Counterexample")
                 + f"\n\n(shrunk from {len(violation.actions)} to {len(actions)} steps)"
                 + "\n\nReplay with Model(core, config, bounds).run(actions):\n"
                 + replayable(actions))
    return FuzzResult(
        seed=seed,
        profile=profile,
        examples=stats.examples,
        steps=stats.steps,
        distinct_states=len(stats.distinct),
        seconds=time.monotonic() - started,
        goals=frozenset(stats.goals),
        violation=found,
        actions=tuple(actions),
        trace=trace,
        found_after=found_after,
        found_length=0 if violation is None else len(violation.actions),
    )
