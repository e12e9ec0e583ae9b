"""`raftcheck break`: every engine against every bug in the zoo, as one table.

A checker is only as good as the bugs it is shown to catch. For each broken core in the zoo
(`impl/broken.py`, catalogued with its bounds, expected property and shortest length in
`model/zoo.py`) this runs

* the exhaustive engine (BFS, symmetry) within the bug's bounds: found or not, the property,
  time, distinct states, and the length of the shortest counterexample;
* the Hypothesis engine on the fuzzing bounds for a time budget: found or not, the property,
  the time to the first failing run, and the length after shrinking;
* the seed's three experiments (split brain, log inconsistency, network partition), which the
  correct core passes: which of them the bug breaks, if any.

The verdict (`overall`) is ALL CAUGHT, exit 0, when every engine caught every bug it was run
against ("no mutant survived"), ESCAPED, exit 1, when some bug escaped an engine within its
budget; bad usage is exit 2. The command line is model/cli/breaking.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from attrs import frozen

from raftcheck.model.explore import explore
from raftcheck.model.fuzz import fuzz
from raftcheck.model.search.lasso import lasso_search
from raftcheck.model.stateful import FUZZ_BOUNDS
from raftcheck.model.verdict import Verdict
from raftcheck.model.world import Action, Config, Core, Model
from raftcheck.model.zoo import LASSO_BOUNDS, Bug, LivenessBug
from raftcheck.properties import Violation, with_liveness

# Enough for the deepest catalogued bug (accept-stale-term-append) on one core, so that
# `raftcheck break` on defaults shows every engine catching every bug (docs/zoo.md has the
# measured BFS times).
DEFAULT_EXPLORE_SECONDS = 600.0
DEFAULT_FUZZ_SECONDS = 30.0


@frozen
class Hunt:
    """One engine against one bug."""

    engine: str  # exhaustive | hypothesis | lasso
    found: bool
    property: str | None
    seconds: float  # to the violation (hypothesis: before shrinking), or the budget spent
    states: int  # distinct states (exhaustive, lasso) / examples run (hypothesis)
    length: int | None  # trace length: shortest (exhaustive) / shrunk (hypothesis) /
    # prefix and cycle (lasso)
    raw_length: int | None = None  # hypothesis: before shrinking; lasso: the cycle
    actions: tuple[Action, ...] = ()
    violation: Violation | None = None
    interrupted: bool = False  # stopped by SIGINT/SIGTERM: a miss says nothing


@frozen
class Report:
    bug: Bug
    exhaustive: Hunt | None
    hypothesis: Hunt | None
    scenarios: dict[str, bool]  # scenario -> passed on this bug's core

    @property
    def caught(self) -> bool:
        return all(hunt.found for hunt in (self.exhaustive, self.hypothesis) if hunt is not None)

    @property
    def interrupted(self) -> bool:
        return any(hunt.interrupted for hunt in (self.exhaustive, self.hypothesis)
                   if hunt is not None and not hunt.found)

    @property
    def verdict(self) -> Verdict:
        if self.caught:
            return Verdict.ALL_CAUGHT
        return Verdict.INCONCLUSIVE if self.interrupted else Verdict.ESCAPED


def overall(reports: Sequence[Report]) -> Verdict:
    """ESCAPED when an engine missed a bug within its whole budget; else INCONCLUSIVE when a
    hunt was interrupted (a miss cut short says nothing); else ALL_CAUGHT."""
    verdicts = {report.verdict for report in reports}
    for verdict in (Verdict.ESCAPED, Verdict.INCONCLUSIVE):
        if verdict in verdicts:
            return verdict
    return Verdict.ALL_CAUGHT


def hunt_exhaustive(bug: Bug, max_seconds: float | None = DEFAULT_EXPLORE_SECONDS,
                    workers: int = 1) -> Hunt:
    """BFS within the bug's bounds: the first violation is a shortest one."""
    model = Model(bug.core, Config(bug.nodes), bug.bounds)
    result = explore(model, strategy="bfs", symmetry=True, max_seconds=max_seconds,
                     workers=workers)
    if not result.violations:
        return Hunt("exhaustive", False, None, result.seconds, result.distinct, None,
                    interrupted=result.stop_reason == "interrupted")
    first = result.violations[0]
    return Hunt("exhaustive", True, first.violation.property, result.seconds, result.distinct,
                len(first.actions), actions=tuple(first.actions), violation=first.violation)


def hunt_hypothesis(bug: Bug, seed: int, seconds: float = DEFAULT_FUZZ_SECONDS,
                    workers: int = 1) -> Hunt:
    """The Hypothesis engine on the generous fuzzing bounds (not the bug's: it is not told
    where the bug is), for `seconds`, then shrinking."""
    model = Model(bug.core, Config(bug.nodes), FUZZ_BOUNDS)
    result = fuzz(model, seed=seed, seconds=seconds, workers=workers)
    if result.violation is None:
        return Hunt("hypothesis", False, None, result.seconds, result.examples, None)
    return Hunt("hypothesis", True, result.violation.property, result.found_after,
                result.examples, len(result.actions), raw_length=result.found_length,
                actions=result.actions, violation=result.violation)


def liveness_model(core: Core, seed: int) -> Model:
    """The world the liveness zoo is hunted in: the timed world, its timeouts seeded with
    `seed`, on the fuzzing bounds, with the progress properties besides the safety ones."""
    return Model(core, Config(timing="timed", seed=seed), FUZZ_BOUNDS,
                 properties=with_liveness(True))


def hunt_liveness(bug: LivenessBug, seed: int, seconds: float | None = DEFAULT_FUZZ_SECONDS,
                  examples: int | None = None) -> Hunt:
    """The Hypothesis engine in the timed world with the progress properties
    (`raftcheck fuzz --timed --liveness`), for `seconds` or `examples` runs, then
    shrinking. `states` counts the runs started up to the first failing one."""
    result = fuzz(liveness_model(bug.core, seed), seed=seed, seconds=seconds,
                  examples=examples)
    if result.violation is None:
        return Hunt("hypothesis", False, None, result.seconds, result.examples, None)
    return Hunt("hypothesis", True, result.violation.property, result.found_after,
                result.examples, len(result.actions), raw_length=result.found_length,
                actions=result.actions, violation=result.violation)


def lasso_model(core: Core) -> Model:
    """The world the lasso search hunts the liveness zoo in: untimed, `LASSO_BOUNDS`, the
    safety properties and the fair-cycle progress properties."""
    return Model(core, Config(), LASSO_BOUNDS, properties=with_liveness(False))


def hunt_lasso(bug: LivenessBug, max_seconds: float | None = DEFAULT_EXPLORE_SECONDS) -> Hunt:
    """The exhaustive lasso search (`raftcheck explore --liveness`'s second part) within
    `LASSO_BOUNDS`: its first lasso, or none. `length` is the whole lasso, `raw_length`
    its cycle."""
    result = lasso_search(lasso_model(bug.core), max_seconds=max_seconds)
    if not result.lassos:
        return Hunt("lasso", False, None, result.seconds, result.distinct, None,
                    interrupted=result.stop_reason == "interrupted")
    first = result.lassos[0]
    return Hunt("lasso", True, first.property, result.seconds, result.distinct,
                len(first.actions), raw_length=len(first.cycle), actions=first.actions,
                violation=first.violation)


def scenario_outcomes(core: Core) -> dict[str, bool]:
    from raftcheck.model.scenarios import SCENARIOS, run_scenario

    return {name: run_scenario(name, core).passed for name in SCENARIOS}


def hunt(bug: Bug, *, seed: int, engines: Sequence[str], explore_seconds: float | None,
         fuzz_seconds: float, workers: int = 1) -> Report:
    exhaustive = (hunt_exhaustive(bug, explore_seconds, workers)
                  if "exhaustive" in engines else None)
    hypothesis = (hunt_hypothesis(bug, seed, fuzz_seconds, workers)
                  if "hypothesis" in engines else None)
    return Report(bug, exhaustive, hypothesis, scenario_outcomes(bug.core))
