"""raftcheck as a pytest plugin: check your own core from your own test suite in a few lines.

Installed with raftcheck (the `pytest11` entry point in pyproject.toml), so any test can ask
for the `raftcheck` fixture:

    def test_my_core(raftcheck):
        raftcheck.fuzz("mymod:CORE", examples=200)
        raftcheck.explore("mymod:CORE", max_term=2)

Each helper runs one engine and *fails the test* with the rendered, numbered counterexample
(or the core's one-line fault, or the reason the run proves nothing) when the core breaks a
property, crashes, or the run is inconclusive; otherwise it returns the engine's result for
further assertions. A core is given as anything `raftcheck --core` takes (a name,
`module:object`, `path/to/file.py:object`) or as the core object itself.

The `raftcheck_core` fixture is the core named by the RAFTCHECK_CORE environment variable (the
bundled core when unset), so one test file can be pointed at any core from the command line:
`RAFTCHECK_CORE=mymod:CORE pytest`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pytest
from attrs import evolve

from raftcheck.model import presets
from raftcheck.model.cores import ENV_VAR, CoreLoadError, load_core
from raftcheck.model.verdict import Verdict
from raftcheck.model.world import Action, Bounds, Config, Core, Model, World
from raftcheck.properties import (
    ALL_PROPERTIES,
    RAFT_PROPERTIES,
    Properties,
    Property,
    with_liveness,
)

if TYPE_CHECKING:
    from raftcheck.model.diff import DiffResult
    from raftcheck.model.explore import ExploreResult
    from raftcheck.model.fuzz import FuzzResult
    from raftcheck.model.search.lasso import LassoResult

CoreLike = Core | str


def core_from_env(default: str = "raft") -> Core:
    """The core RAFTCHECK_CORE names, or `default`. Raises CoreLoadError (one line, naming
    the variable) when it cannot be loaded."""
    spec = os.environ.get(ENV_VAR) or default
    try:
        return load_core(spec)
    except CoreLoadError as error:
        raise CoreLoadError(f"{ENV_VAR}={spec}: {error}") from None


def pytest_configure(config: pytest.Config) -> None:
    """A RAFTCHECK_CORE that cannot be loaded stops the run before any test, in one line
    (pytest's usage error, exit code 4), instead of failing every test that uses it."""
    if os.environ.get(ENV_VAR):
        try:
            core_from_env()
        except CoreLoadError as error:
            raise pytest.UsageError(str(error)) from None


class Raftcheck:
    """The engines, as assertions. Every method fails the calling test (pytest.fail, no
    Python traceback into raftcheck) with a readable report when the check does not pass."""

    def core(self, core: CoreLike) -> Core:
        if isinstance(core, str):
            try:
                return load_core(core)
            except CoreLoadError as error:
                pytest.fail(str(error), pytrace=False)
        return core

    def properties(self, properties: Sequence[str] | None = None, ignore: Sequence[str] = (),
                   extra: Sequence[Property] = (), liveness: bool = False,
                   timed: bool = True) -> Properties:
        """The Raft properties (with `liveness`, the progress properties of the timed world,
        or of the untimed one when not `timed`), narrowed to the names in `properties`
        (goals always kept; a progress property may be named without `liveness`), without
        those in `ignore`, plus your own `extra` ones (`Property.always(name, fn)`,
        `Property.transition(name, fn)`, `Property.sometimes(name, fn)`,
        `Property.eventually(name, fn)`, `Property.fair(name, stuck)`)."""
        chosen = (with_liveness(timed) if liveness else RAFT_PROPERTIES).adding(*extra)
        try:
            if properties is not None:
                chosen = ALL_PROPERTIES.adding(*extra).selecting(properties)
            return chosen.ignoring(ignore)
        except ValueError as error:
            pytest.fail(str(error), pytrace=False)

    def fuzz(self, core: CoreLike, *, examples: int = 200, seed: int = 0, nodes: int = 3,
             bounds: Bounds | None = None, steps: int | None = None,
             require_goals: bool = True, properties: Sequence[str] | None = None,
             ignore: Sequence[str] = (), extra: Sequence[Property] = (),
             timed: bool = False, liveness: bool = False,
             **bound_overrides: Any) -> FuzzResult:
        """The Hypothesis engine for `examples` runs (`seed` makes it reproducible). Fails on a
        violation or core fault, and, with `require_goals`, when a reachability goal was never
        reached (a run that never commits anything checks little). `properties`, `ignore`,
        `extra` and `liveness` choose what is checked (`properties()`); `timed` runs the
        timed world (`seed` also seeds its timeouts), where progress properties are checked
        after each run (docs/liveness.md)."""
        from raftcheck.model.fuzz import fuzz
        from raftcheck.model.fuzz_report import fuzz_verdict
        from raftcheck.model.stateful import FUZZ_BOUNDS

        chosen = self.properties(properties, ignore, extra, liveness, timed)
        if chosen.progress and not timed:
            pytest.fail("the progress properties are checked in the timed world only: pass "
                        "timed=True", pytrace=False)
        if chosen.fair:
            pytest.fail("the fair-cycle progress properties ("
                        + ", ".join(sorted(chosen.fair_names)) + ") are checked by "
                        "explore(liveness=True), not by fuzz", pytrace=False)
        config = Config(cluster_size=nodes, timing="timed" if timed else "untimed",
                        seed=seed if timed else 0)
        model = Model(self.core(core), config, evolve(bounds or FUZZ_BOUNDS, **bound_overrides),
                      properties=chosen)
        result = fuzz(model, seed=seed, examples=examples, steps=steps)
        verdict = fuzz_verdict(result)
        if verdict is Verdict.VIOLATION and result.violation is not None:
            pytest.fail(f"{result.violation.property} found by raftcheck fuzz "
                        f"(seed {seed}):\n{result.trace}", pytrace=False)
        if require_goals and verdict is Verdict.INCONCLUSIVE:
            pytest.fail(f"raftcheck fuzz never reached: {', '.join(result.missing_goals)} "
                        f"in {result.examples} runs (seed {seed}); raise `examples` or pass "
                        "require_goals=False", pytrace=False)
        return result

    def explore(self, core: CoreLike, *, nodes: int = 3, strategy: str = "bfs",
                max_states: int | None = None, max_seconds: float | None = None,
                bounds: Bounds | None = None, properties: Sequence[str] | None = None,
                ignore: Sequence[str] = (), extra: Sequence[Property] = (),
                liveness: bool = False, **bound_overrides: Any) -> ExploreResult:
        """Bounded exhaustive search (default bounds: `raftcheck explore`'s, overridden by
        keyword, e.g. `max_term=2`). Fails on a violation or core fault, on an incomplete
        search, and on a complete one that reached no goal. `properties`, `ignore`,
        `extra` and `liveness` choose what is checked (`properties()`); with fair progress
        properties (`liveness`), the lasso search follows (`lasso()`)."""
        from raftcheck.model.explore import DEFAULT_BOUNDS, explore, format_result

        chosen = self.properties(properties, ignore, extra, liveness, timed=False)
        if chosen.progress:
            pytest.fail("the timed progress properties are checked by fuzz(timed=True), "
                        "after each run, not by the exhaustive search", pytrace=False)
        model = Model(self.core(core), Config(cluster_size=nodes),
                      evolve(bounds or DEFAULT_BOUNDS, **bound_overrides), properties=chosen)
        result = explore(model, strategy=strategy, max_states=max_states,
                         max_seconds=max_seconds)
        if not result.verdict.is_clean:
            pytest.fail(format_result(result, model), pytrace=False)
        if chosen.fair:
            self._lasso(model, max_seconds)
        return result

    def lasso(self, core: CoreLike, *, nodes: int = 3, max_seconds: float | None = None,
              bounds: Bounds | None = None, **bound_overrides: Any) -> LassoResult:
        """The exhaustive liveness check alone (`raftcheck explore --liveness`'s second
        part): fails with the lasso when a fair cycle never makes progress, or when the
        search was cut short."""
        from raftcheck.model.explore import DEFAULT_BOUNDS

        model = Model(self.core(core), Config(cluster_size=nodes),
                      evolve(bounds or DEFAULT_BOUNDS, **bound_overrides),
                      properties=with_liveness(False))
        return self._lasso(model, max_seconds)

    def _lasso(self, model: Model, max_seconds: float | None) -> LassoResult:
        from raftcheck.model.search.lasso import format_lasso_result, lasso_search

        result = lasso_search(model, max_seconds=max_seconds)
        if not result.verdict.is_clean:
            pytest.fail(format_lasso_result(result, model), pytrace=False)
        return result

    def diff(self, old: CoreLike, new: CoreLike, *, compare: str = "state", nodes: int = 3,
             bounds: Bounds | None = None, engine: str = "both", seed: int = 0,
             examples: int = 100, **bound_overrides: Any) -> DiffResult:
        """`raftcheck diff`: fails with the first divergence (or when the exhaustive search
        stopped on a limit)."""
        from raftcheck.model.diff import DIFF_BOUNDS, diff, render

        old_core, new_core = self.core(old), self.core(new)
        result = diff(old_core, new_core, level=compare, config=Config(cluster_size=nodes),
                      bounds=evolve(bounds or DIFF_BOUNDS, **bound_overrides), engine=engine,
                      seed=seed, examples=examples)
        if not result.verdict.is_clean:
            pytest.fail(render(result, old_core, new_core), pytrace=False)
        return result

    def run(self, core: CoreLike, actions: Sequence[Action], *, nodes: int = 3,
            bounds: Bounds | None = None) -> list[World]:
        """Every state along `actions` (a scripted scenario), for assertions of your own."""
        return Model(self.core(core), Config(cluster_size=nodes),
                     bounds or presets.SCRIPT).run(list(actions))


@pytest.fixture
def raftcheck() -> Raftcheck:
    """raftcheck's engines as test helpers: `raftcheck.fuzz(core)`, `.explore(core)`,
    `.lasso(core)`, `.diff(old, new)`, `.run(core, actions)`."""
    return Raftcheck()


@pytest.fixture
def raftcheck_core() -> Core:
    """The core under test: RAFTCHECK_CORE (`module:object`, a path, or a bundled name), or
    the bundled core."""
    try:
        return core_from_env()
    except CoreLoadError as error:
        pytest.fail(str(error), pytrace=False)
