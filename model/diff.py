"""`raftcheck diff OLD NEW`: does a refactored core still behave like the one it replaces?

The two cores run in lockstep (`model.lockstep.Lockstep`): one model whose property is "no
divergence" at the chosen level (`state`, `messages` or `properties`), so the engines that
check a single core check the pair:

* exhaustive: breadth-first over pair states within `bounds` (by default small: three
  servers, terms up to 2, one entry, three messages in flight, no faults), so the first
  divergence found is a shortest one; "equivalent" is only said of a search that completed;
* random: the Hypothesis engine of `raftcheck fuzz` (`model.stateful`: swarm, cascading
  elections and replication rounds, every fault, `workers`) on the pair, within the fuzz
  engine's bounds (`FUZZ_BOUNDS`: four entries, two values, twelve messages, crashes,
  partitions, drops and duplicates), for `examples` runs from `seed`; the first divergence
  is shrunk by the action-level shrinker (`model.shrink`).

The verdict: DIVERGENT (exit 1) when either engine found a divergence; INCONCLUSIVE (exit 3)
when the exhaustive search stopped on a limit; EQUIVALENT (exit 0) otherwise, a statement
about exactly the schedules searched: every one within the exhaustive bounds, and the random
budget's.
"""

from __future__ import annotations

import time
from typing import Any

from attrs import define, field, frozen

from raftcheck.model import presets
from raftcheck.model.explore import explore
from raftcheck.model.fuzz import fuzz
from raftcheck.model.lockstep import Lockstep, PairAction, render_schedule
from raftcheck.model.stateful import FUZZ_BOUNDS
from raftcheck.model.verdict import UsageError, Verdict
from raftcheck.model.world import Bounds, Config, Core, Model
from raftcheck.properties import RAFT_PROPERTIES, Properties

ENGINES = ("both", "exhaustive", "random")

# Exhaustive bounds: small enough to finish in seconds per core pair on one core (a pair step
# costs two core steps and the matching). Widen them on the command line for a deeper check.
DIFF_BOUNDS = presets.SMALL
# The random part's budget: runs of the Hypothesis machine on the pair, within FUZZ_BOUNDS.
# Sized so that every bug of the zoo diverges from the bundled core at `--compare properties`
# with the default seed (tests/refactor/test_diff_zoo.py; times in docs/refactoring.md).
DIFF_EXAMPLES = 2000
DIFF_STEPS = 50


# ------------------------------------------------------------------------------ results


@frozen
class Divergence:
    """The first step after which the cores disagree: the actions up to and including it
    (empty: the initial states already differ), how they disagree, and which engine found
    it (`shrunk_from`: the length of the random run before shrinking)."""

    actions: tuple[PairAction, ...]
    detail: tuple[str, ...]
    engine: str
    shortest: bool
    shrunk_from: int | None = None


@define
class DiffResult:
    old: str
    new: str
    level: str
    config: Config
    bounds: Bounds
    divergence: Divergence | None = None
    pairs: int = 0  # distinct pair states the exhaustive search visited
    transitions: int = 0
    depth: int = 0
    complete: bool | None = None  # None: the exhaustive search did not run
    stop_reason: str = ""
    random_runs: int = 0
    random_steps: int = 0
    seed: int | None = None
    random_bounds: Bounds = FUZZ_BOUNDS
    seconds: float = 0.0
    notes: list[str] = field(factory=list)
    properties: Properties = RAFT_PROPERTIES  # what both cores are checked against

    def model(self, core: Core, bounds: Bounds) -> Model:
        """`core` in this comparison's world, within `bounds`, with its properties."""
        return Model(core, self.config, bounds, properties=self.properties)

    def ignored(self) -> list[str]:
        """The safety properties this comparison leaves out (--property, --ignore)."""
        return [name for name in RAFT_PROPERTIES.names if name not in self.properties.names]

    @property
    def verdict(self) -> Verdict:
        if self.divergence is not None:
            return Verdict.DIVERGENT
        if self.complete is False:
            return Verdict.INCONCLUSIVE
        return Verdict.EQUIVALENT

    @property
    def exit_code(self) -> int:
        return int(self.verdict.exit_code)


# ------------------------------------------------------------------------------ exhaustive


def exhaustive(lock: Lockstep, result: DiffResult, *, max_states: int | None = None,
               max_seconds: float | None = None, workers: int = 1) -> None:
    """Breadth-first over pair states (the explore engine on the pair): the first divergence
    found is a shortest one."""
    found = explore(lock, strategy="bfs", symmetry=False, max_states=max_states,
                    max_seconds=max_seconds, workers=workers)
    result.pairs, result.transitions, result.depth = found.distinct, found.generated, \
        found.depth
    if found.violations:
        first = found.violations[0]
        result.divergence = Divergence(first.actions, tuple(first.violation.detail.split("\n")),
                                       "exhaustive", True)
        result.complete = True  # every shorter schedule was checked
        result.stop_reason = "violation"
        return
    result.complete = found.complete
    result.stop_reason = found.stop_reason


# ------------------------------------------------------------------------------ the API


def diff(old: Core, new: Core, *, level: str = "state", config: Config | None = None,
         bounds: Bounds = DIFF_BOUNDS, engine: str = "both", seed: int = 0,
         examples: int = DIFF_EXAMPLES, steps: int = DIFF_STEPS,
         random_bounds: Bounds = FUZZ_BOUNDS, max_states: int | None = None,
         max_seconds: float | None = None, workers: int = 1,
         properties: Properties = RAFT_PROPERTIES) -> DiffResult:
    """Compare two cores at `level`: exhaustively within `bounds`, then (if no divergence
    yet) with the Hypothesis engine for `examples` runs of at most `steps` actions within
    `random_bounds`, from `seed`, in `workers` processes (same result for any count). Both
    cores are checked against `properties` (what `--compare properties` compares)."""
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    config = config or Config()
    if config.timing != "untimed":
        raise UsageError("diff compares cores in the untimed world only")
    if properties.progress:
        raise UsageError("diff compares cores in the untimed world, and the progress "
                         "properties are checked in the timed world only (docs/liveness.md)")
    started = time.monotonic()
    result = DiffResult(old.name, new.name, level, config, bounds, random_bounds=random_bounds,
                        properties=properties)
    if engine in ("both", "exhaustive"):
        lock = Lockstep(result.model(old, bounds), result.model(new, bounds), level)
        exhaustive(lock, result, max_states=max_states, max_seconds=max_seconds,
                   workers=workers)
    if result.divergence is None and engine in ("both", "random"):
        result.seed = seed
        lock = Lockstep(result.model(old, random_bounds), result.model(new, random_bounds),
                        level)
        random_search(lock, result, seed=seed, examples=examples, steps=steps,
                      workers=workers)
    result.seconds = time.monotonic() - started
    return result


def random_search(lock: Lockstep, result: DiffResult, *, seed: int, examples: int, steps: int,
                  workers: int) -> None:
    """The Hypothesis engine on the lockstep pair; its first divergence, shrunk."""
    first = lock.initial()
    if first.after is None and first.divergence is None:  # both cores fail to start
        result.notes.append(f"initial state: {first.both_broke}")
        return
    found = fuzz(lock, seed=seed, examples=examples, steps=steps, workers=workers)
    result.random_runs, result.random_steps = found.examples, found.steps
    if found.violation is not None:
        result.divergence = Divergence(
            tuple(found.actions), tuple(found.violation.detail.split("\n")), "random",
            shortest=False, shrunk_from=found.found_length)


# ------------------------------------------------------------------------------ reporting


def render(result: DiffResult, old: Core, new: Core) -> str:
    """The report: verdict and figures, then the divergence as a numbered trace of both
    cores side by side (OLD's changes, and NEW's wherever they differ)."""
    lines = [f"raftcheck diff: OLD={result.old} NEW={result.new} --compare {result.level} "
             f"nodes={result.config.cluster_size}"]
    if result.complete is not None:
        state = "complete" if result.complete else f"stopped: {result.stop_reason}"
        lines.append(f"exhaustive: {result.pairs:,} pair states, {result.transitions:,} "
                     f"transitions, depth {result.depth} ({state}); bounds "
                     f"{result.bounds.describe()}")
    if result.seed is not None:
        lines.append(f"random: {result.random_runs:,} schedules, {result.random_steps:,} "
                     f"steps, seed {result.seed}; bounds {result.random_bounds.describe()}")
    if result.ignored():
        lines.append(f"properties not checked: {', '.join(result.ignored())}")
    lines.extend(f"note: {note}" for note in result.notes)
    found = result.divergence
    if found is not None:
        bounds = result.bounds if found.engine == "exhaustive" else result.random_bounds
        lock = Lockstep(result.model(old, bounds), result.model(new, bounds), result.level)
        how = ("shortest, by breadth-first search" if found.shortest else
               f"random schedule shrunk from {found.shrunk_from} to {len(found.actions)} "
               "steps")
        lines.append("")
        lines.append(f"First divergence after {len(found.actions)} steps ({how}):")
        lines.extend(render_schedule(lock, found.actions))
        lines.append(f"  ✗ OLD and NEW diverge at step {len(found.actions)} "
                     f"(--compare {result.level}):")
        lines.extend(f"      {line}" for line in found.detail)
    lines.append("")
    verdict = result.verdict
    if verdict is Verdict.EQUIVALENT:
        scopes = (["any schedule within the bounds"] if result.complete else []) + (
            [f"{result.random_runs:,} random schedules"] if result.seed is not None else [])
        lines.append(f"EQUIVALENT at --compare {result.level}: no divergence in "
                     f"{', nor in '.join(scopes)}")
    elif verdict is Verdict.INCONCLUSIVE:
        lines.append("INCONCLUSIVE: no divergence found, but the exhaustive search stopped "
                     f"({result.stop_reason}); not a proof of equivalence")
    else:
        lines.append(f"DIVERGENT at --compare {result.level}, step {len(found.actions)}"
                     if found else "DIVERGENT")
    return "\n".join(lines)


def to_json(result: DiffResult) -> dict[str, Any]:
    found = result.divergence
    return {
        "engine": "diff", "old": result.old, "new": result.new, "compare": result.level,
        "verdict": result.verdict.value.lower(), "exit_code": result.exit_code,
        "nodes": result.config.cluster_size, "bounds": result.bounds.describe(),
        "exhaustive": None if result.complete is None else {
            "complete": result.complete, "stop_reason": result.stop_reason,
            "pair_states": result.pairs, "transitions": result.transitions,
            "depth": result.depth},
        "random": None if result.seed is None else {
            "seed": result.seed, "schedules": result.random_runs,
            "steps": result.random_steps, "bounds": result.random_bounds.describe()},
        "seconds": round(result.seconds, 3), "notes": result.notes,
        "properties_ignored": result.ignored(),
        "divergence": None if found is None else {
            "step": len(found.actions), "engine": found.engine, "shortest": found.shortest,
            "shrunk_from": found.shrunk_from, "detail": list(found.detail),
            "actions": [{"old": repr(a.old), "new": repr(a.new)} for a in found.actions]},
    }
