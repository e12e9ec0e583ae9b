"""`raftcheck fuzz`: run the Hypothesis engine against a core for a budget, reproducibly.

The budget is spent in batches of examples, batch k seeded with (seed, k) and sized by the
budget alone (`batch_plan`), so a run is determined by its seed and its example budget (a time
budget only decides how many batches run), and batches can run in several processes
(`workers`), or as Ray tasks (`ray`, model/search/ray_pool.py), with the same result.
Hypothesis' example database is off: the seed, not a local cache, reproduces a run.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from attrs import evolve, frozen
from hypothesis import Phase, seed as hypothesis_seed
from hypothesis.errors import HypothesisException
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from raftcheck.model import seam
from raftcheck.model.search.pool import check_workers, process_context
from raftcheck.model.search.ray_pool import RaySession, check_address, load_model, put_model
from raftcheck.model.shrink import polish, shrink
from raftcheck.model.state import CORE_FAULT
from raftcheck.model.stateful import (
    PROFILES,
    BudgetSpent,
    PropertyViolated,
    RunStats,
    build_machine,
    profile_settings,
)
from raftcheck.model.verdict import UsageError
from raftcheck.properties import Violation

if TYPE_CHECKING:
    from raftcheck.model.world import Model

BATCH = 50
MAX_STEPS = 10_000  # actions in one run: a run this long already takes seconds


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
    actions: tuple[Any, ...]  # the model's actions: world actions, or a lockstep pair's
    trace: str | None
    found_after: float = 0.0  # seconds to the first failing run, before shrinking
    found_length: int = 0  # that run's length, before shrinking

    goal_names: tuple[str, ...] = ()  # the goals the bounds allow
    ruled_out: tuple[str, ...] = ()  # the goals the bounds rule out (not expected of a run)

    @property
    def missing_goals(self) -> list[str]:
        return [goal for goal in self.goal_names if goal not in self.goals]


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


def batch_plan(examples: int | None) -> Iterator[int]:
    """The sizes of the batches a budget of `examples` runs (unbounded for a time budget):
    fixed in advance, so that batch k is the same run of Hypothesis however many processes
    share the work and whatever the earlier batches counted."""
    if examples is None:
        while True:
            yield BATCH
    full, rest = divmod(examples, BATCH)
    yield from [BATCH] * full + ([rest] if rest else [])


Failure = tuple[Violation, list[Any]]  # a failing run: what broke, and the run


def run_machine(machine: type[RuleBasedStateMachine], seed: int, batch: int, size: int,
                profile: str, steps: int | None) -> None:
    """Batch `batch` of a fuzzing run: `size` runs of `machine`, seeded with (seed, batch),
    generation only. A machine reports a failing run by raising (the caller catches what its
    machine raises). Shared by every Hypothesis machine of the suite, the Raft world's and
    the live library adapters'."""
    # Hypothesis finds; the action-level shrinker (model.shrink) minimises, in seconds where
    # Hypothesis' choice-sequence shrinker takes minutes on long Raft runs.
    overrides: dict[str, Any] = {"max_examples": size,
                                 "phases": (Phase.explicit, Phase.generate)}
    if steps is not None:
        overrides["stateful_step_count"] = steps
    seeded = hypothesis_seed(batch_seed(seed, batch))(machine)
    try:
        with without_local_constants():
            run_state_machine_as_test(  # type: ignore[no-untyped-call, unused-ignore]
                seeded, settings=profile_settings(profile, **overrides))
    except HypothesisException as error:  # pragma: no cover - a bug in the machine
        raise RuntimeError(f"the Hypothesis engine failed: {error}") from error


def run_batch(model: seam.AnyModel, seed: int, batch: int, size: int, profile: str,
              steps: int | None, stats: RunStats) -> Failure | None:
    """Batch `batch` of a fuzzing run of `model`'s machine; its steps are counted in `stats`.
    The first failing run, if any."""
    stats.limit = stats.examples + size
    try:
        run_machine(build_machine(model, stats), seed, batch, size, profile, steps)
    except PropertyViolated as error:
        return error.violation, error.actions
    except BudgetSpent:
        pass
    finally:
        stats.limit, stats.failed = None, False
    return None


def fuzz(
    model: seam.AnyModel,
    *,
    seed: int = 0,
    profile: str = "ci",
    examples: int | None = None,
    seconds: float | None = None,
    steps: int | None = None,
    workers: int = 1,
    minimise: bool = True,
    on_progress: Callable[[RunStats], None] | None = None,
    ray: str | None = None,
) -> FuzzResult:
    """Explore `model` with Hypothesis until `examples` runs (default: the profile's) or
    `seconds` have been spent, or a property fails. The failing run is shrunk.

    With `workers` > 1 the batches run in that many processes, and their results are taken in
    batch order: the first failing batch is the one a single process would have stopped at,
    so the result for a seed and an example budget does not depend on `workers`. With `ray`
    (a Ray address: local, auto, HOST:PORT, ray://HOST:PORT) the batches are Ray tasks there,
    `workers` at a time, taken in the same order.
    `minimise=False` returns the failing run as found, unshrunk (for measurements that only
    count finds: shrinking takes longer than finding)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
    check_workers(workers)
    if ray is not None:
        check_address(ray)
    if steps is not None and not 1 <= steps <= MAX_STEPS:
        raise UsageError(f"steps must be between 1 and {MAX_STEPS:,}, got {steps}")
    budget = example_budget(profile, examples, seconds)
    stats = RunStats(on_step=on_progress)
    started = time.monotonic()
    deadline = None if seconds is None else started + seconds
    plan = batch_plan(budget)
    failure: Failure | None = None
    if workers == 1 and ray is None:
        for batch, size in enumerate(plan):
            if deadline is not None and time.monotonic() >= deadline:
                break
            failure = run_batch(model, seed, batch, size, profile, steps, stats)
            if failure is not None:
                break
    else:
        run = (_parallel_batches(model, seed, plan, profile, steps, workers, deadline)
               if ray is None else
               _ray_batches(model, seed, plan, profile, steps, workers, deadline, ray))
        with closing(run) as batches:
            for seen, failure in batches:
                stats.merge(seen)
                if on_progress is not None:
                    on_progress(stats)
                if failure is not None:
                    break
    found_after = time.monotonic() - started if failure is not None else 0.0
    actions: list[Any] = []
    found: Violation | None = None
    trace: str | None = None
    if failure is not None and not minimise:
        found, actions = failure
    elif failure is not None:
        actions, found = shrink(model, failure[1])
        actions, found = polish(model, actions, found)
        trace = (model.render(actions, found, "Counterexample")
                 + f"\n\n(shrunk from {len(failure[1])} to {len(actions)} steps)\n\n"
                 + model.snippet(actions))
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
        found_length=0 if failure is None else len(failure[1]),
        goal_names=model.goal_names,
        ruled_out=model.ruled_out_goals,
    )


def fuzz_each(model: Model, *, seed: int = 0, profile: str = "ci",
              examples: int | None = None, seconds: float | None = None,
              steps: int | None = None, workers: int = 1,
              on_progress: Callable[[RunStats], None] | None = None,
              ray: str | None = None) -> list[FuzzResult]:
    """Fuzz `model` for the whole budget, reporting every property it breaks, not only the
    first (`each_property`): after each violation (shrunk as usual) the search goes on with
    that property ignored. One result per round; each violated property appears once. A core
    fault ends it (it is not a property that can be set aside)."""
    def run_round(round_seed: int, left: int | None, remaining: float | None,
                  ignored: tuple[str, ...]) -> FuzzResult:
        current = evolve(model, properties=model.properties.ignoring(ignored)) \
            if ignored else model
        return fuzz(current, seed=round_seed, profile=profile, examples=left,
                    seconds=remaining, steps=steps, workers=workers,
                    on_progress=on_progress, ray=ray)

    def broken(result: FuzzResult) -> str | None:
        if result.violation is None or result.violation.property == CORE_FAULT:
            return None
        return result.violation.property

    checked = [p.name for p in model.properties.all if p.kind != "sometimes"]
    return each_property(run_round, broken, checked, seed=seed,
                         budget=example_budget(profile, examples, seconds), seconds=seconds)


def example_budget(profile: str, examples: int | None, seconds: float | None) -> int | None:
    """The runs a budget allows: `examples`, else none with a time budget (None: unbounded),
    else the profile's."""
    if examples is not None:
        return examples
    return None if seconds is not None else int(PROFILES[profile]["max_examples"])


class Round(Protocol):
    """What `each_property` needs of a round's result."""

    @property
    def examples(self) -> int: ...


R = TypeVar("R", bound=Round)


def each_property(run_round: Callable[[int, int | None, float | None, tuple[str, ...]], R],
                  broken: Callable[[R], str | None], checked: Sequence[str], *, seed: int,
                  budget: int | None, seconds: float | None) -> list[R]:
    """The rounds of a search for every property broken (`--continue`), for any engine that
    runs a budget: `run_round(seed, runs left, seconds left, ignored)` searches fresh runs
    with the properties broken so far ignored (round k is seeded with (seed, k), the first
    with `seed`), and `broken` names the property a round broke (None: it broke none, or
    failed in a way that ends the search). The rounds go on until the budget (`budget` runs,
    or `seconds`) is spent, a round breaks nothing, or every property of `checked` is
    broken."""
    deadline = None if seconds is None else time.monotonic() + seconds
    results: list[R] = []
    ignored: list[str] = []
    while True:
        left = None if budget is None else budget - sum(r.examples for r in results)
        remaining = None if deadline is None else deadline - time.monotonic()
        if (left is not None and left < 1) or (remaining is not None and remaining <= 0):
            break
        round_seed = seed if not results else batch_seed(seed, -len(results))
        result = run_round(round_seed, left, remaining, tuple(ignored))
        results.append(result)
        name = broken(result)
        if name is None:
            break
        ignored.append(name)
        if all(other in ignored for other in checked):
            break
    return results


# ------------------------------------------------------------------ batches in processes

_WORKER: dict[str, Any] = {}  # a worker process's model and settings, set once by fork


def _worker_init(model: seam.AnyModel, seed: int, profile: str, steps: int | None) -> None:
    _WORKER.update(model=model, seed=seed, profile=profile, steps=steps)


def _worker_batch(batch: int, size: int) -> tuple[RunStats, Failure | None]:
    stats = RunStats()
    failure = run_batch(_WORKER["model"], _WORKER["seed"], batch, size, _WORKER["profile"],
                        _WORKER["steps"], stats)
    return stats, failure


def _parallel_batches(model: seam.AnyModel, seed: int, plan: Iterator[int], profile: str,
                      steps: int | None, workers: int, deadline: float | None
                      ) -> Generator[tuple[RunStats, Failure | None], None, None]:
    """The batches' results in batch order (`_in_batch_order`), in `workers` forked
    processes; the pool is torn down on exit, abandoning the batches still running."""
    context = process_context()
    with context.Pool(workers, initializer=_worker_init,
                      initargs=(model, seed, profile, steps)) as pool:
        yield from _in_batch_order(
            plan, workers, deadline,
            lambda batch, size: pool.apply_async(_worker_batch, (batch, size)),
            lambda pending: pending.get())


def _ray_batch(data: bytes, seed: int, batch: int, size: int, profile: str,
               steps: int | None) -> tuple[RunStats, Failure | None]:
    """One batch as a Ray task (of the model `put_model` sent): its distinct states by
    fingerprint, which every process computes alike (`RunStats.fingerprint`)."""
    model = load_model(data)
    stats = RunStats(fingerprint=model.fingerprinter(False))
    failure = run_batch(model, seed, batch, size, profile, steps, stats)
    stats.fingerprint, stats.fingerprints = None, {}  # not shipped back
    return stats, failure


def _ray_batches(model: seam.AnyModel, seed: int, plan: Iterator[int], profile: str,
                 steps: int | None, workers: int, deadline: float | None, address: str
                 ) -> Generator[tuple[RunStats, Failure | None], None, None]:
    """The batches' results in batch order (`_in_batch_order`), as Ray tasks of one CPU at
    `address`; on exit the batches still running are cancelled."""
    session = RaySession(address, workers)
    ray = session.ray
    running: set[Any] = set()  # the tasks not yet awaited
    try:
        shared = put_model(ray, model)
        task = ray.remote(num_cpus=1)(_ray_batch)

        def submit(batch: int, size: int) -> Any:
            reference = task.remote(shared, seed, batch, size, profile, steps)
            running.add(reference)
            return reference

        def get(reference: Any) -> Any:
            running.discard(reference)
            return ray.get(reference)

        yield from _in_batch_order(plan, workers, deadline, submit, get)
    finally:
        for reference in running:
            with suppress(Exception):
                ray.cancel(reference, force=True)
        session.close()


def _in_batch_order(plan: Iterator[int], workers: int, deadline: float | None,
                    submit: Callable[[int, int], Any], get: Callable[[Any], Any]
                    ) -> Iterator[tuple[RunStats, Failure | None]]:
    """The batches' results in batch order, computed `workers` at a time ahead of the one
    awaited (`submit` starts one, `get` waits for its result). Past the deadline no batch
    starts and, after the first, none is awaited (as one process would not have started it);
    the caller abandons the batches beyond a failing one, or past the deadline."""
    pending: dict[int, Any] = {}
    sizes = enumerate(plan)
    awaited = 0
    while True:
        while len(pending) < 2 * workers and (deadline is None
                                              or time.monotonic() < deadline):
            batch, size = next(sizes, (None, 0))
            if batch is None:
                break
            pending[batch] = submit(batch, size)
        late = deadline is not None and time.monotonic() >= deadline
        if awaited not in pending or (late and awaited > 0):
            return
        result: tuple[RunStats, Failure | None] = get(pending.pop(awaited))
        yield result
        awaited += 1
