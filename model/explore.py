"""Bounded exhaustive enumeration: `raftcheck explore`.

Visits every state of a model (any `model.seam.Model`: the Raft world `model.world.Model`, or
the lockstep pair `raftcheck diff` searches) reachable within its bounds and checks every
property the model carries on every state and every transition, or returns the *shortest*
counterexample. It is TLC's breadth-first search, over the same one action space the other
engines use:

* Deduplication by 8-byte fingerprints of a canonical encoding (`model.fingerprint`), reduced
  under node relabelling when `symmetry` is on (`model.symmetry`). The collision probability
  is reported as TLC does.
* Parent links are kept per BFS level as three flat arrays (fingerprint, parent position,
  candidate-action number): 14 bytes per visited state besides the `set` of fingerprints. A
  counterexample is rebuilt by replaying those numbers from the initial state, so it is the
  actual trace the search took, and the shortest one.
* A core that fails on a step (`CoreFault`: it raised, returned the wrong shape or mutated its
  input) is a finding of the same search, reported as a `Core Fault` counterexample with the
  shortest run to it.
* Transition properties are checked on *every* transition, including those into states already
  seen (a before/after pair can break even when the target is known); state properties once
  per distinct state (symmetric states satisfy the same properties).
* Strategies: `bfs` (shortest counterexamples; parallel with `workers`, forked processes or
  Ray actors with `ray`), `dfs` and `iddfs`
  (iterative deepening: shortest counterexamples in memory proportional to the depth-limited
  space, for deep narrow bugs), and `simulate` (seeded random walks, like TLC's -simulate).
* A run that stops on a bound (depth, states, seconds, Ctrl-C) is INCOMPLETE, never a pass; a
  complete run that missed a reachability goal the bounds allow (or reached none) is a
  BROKEN MODEL, not a pass.

The engines live in `model/search/` (`bfs`, `depth_first`, `simulate`, with `result`,
`common`, `pool` and `checkpoint`); this module is their API and re-exports the names other
modules import from it.

Exit codes (`ExploreResult.verdict.exit_code`; the command line is model/cli/explore.py):
0 complete and clean, 1 violation, 2 bad usage, 3 incomplete without a
violation, 3 also when complete but vacuous (a goal the bounds allow never reached).
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs

from raftcheck.model import presets
from raftcheck.model.seam import AnyModel
from raftcheck.model.search.bfs import bfs
from raftcheck.model.search.checkpoint import (
    CHECKPOINT_FILE as CHECKPOINT_FILE,
    CHECKPOINT_MAGIC as CHECKPOINT_MAGIC,
)
from raftcheck.model.search.common import (
    Interrupt,
    Limits,
    Progress,
    fingerprinter as fingerprinter,
    peak_rss,
    replay_indices as replay_indices,
)
from raftcheck.model.search.depth_first import depth_first
from raftcheck.model.search.pool import check_workers, process_context as process_context
from raftcheck.model.search.ray_pool import check_address
from raftcheck.model.search.result import (
    Counterexample as Counterexample,
    ExploreResult as ExploreResult,
    format_result as format_result,
    model_fields,
)
from raftcheck.model.search.simulate import simulate
from raftcheck.model.verdict import UsageError as UsageError
from raftcheck.model.world import CoreFault

DEFAULT_BOUNDS = presets.EXPLORE  # `raftcheck explore`'s defaults (model/presets.py says why)
DEFAULT_NODES = 3

STRATEGIES = ("bfs", "dfs", "iddfs", "simulate")


# ------------------------------------------------------------------------------ the API


def explore(
    model: AnyModel,
    *,
    strategy: str = "bfs",
    symmetry: bool = True,
    max_states: int | None = None,
    max_seconds: float | None = None,
    max_depth: int | None = None,
    workers: int = 1,
    all_violations: bool = False,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: float = 60.0,
    resume: str | os.PathLike[str] | None = None,
    seed: int = 0,
    walks: int | None = 1000,
    walk_depth: int = 100,
    bias: str = "uniform",
    exact: bool = False,
    progress: bool = False,
    ray: str | None = None,
) -> ExploreResult:
    """Search `model`'s state space. See the module docstring; raises UsageError on options
    that do not go together (checkpoints and workers are for bfs only, exact is one process).
    `ray`: a Ray address (model/search/ray_pool.py: local, auto, HOST:PORT, ray://HOST:PORT);
    the BFS's `workers` are then Ray actors there."""
    if strategy not in STRATEGIES:
        raise UsageError(f"unknown strategy {strategy!r}; choose from {', '.join(STRATEGIES)}")
    check_workers(workers)
    for name, value in (("max_states", max_states), ("max_seconds", max_seconds),
                        ("max_depth", max_depth)):
        if value is not None and value < 0:
            raise UsageError(f"{name} must be >= 0")
    if ray is not None:
        check_address(ray)
    if strategy != "bfs" and (workers > 1 or checkpoint is not None or resume is not None
                              or ray is not None):
        raise UsageError("--workers, --ray, --checkpoint and --resume apply to --strategy bfs "
                         "only")
    if exact and (workers > 1 or checkpoint is not None or resume is not None
                  or strategy != "bfs" or ray is not None):
        raise UsageError("--exact keeps states in one process: bfs, one worker, no Ray, "
                         "no checkpoint")
    if bias not in ("uniform", "kind"):
        raise UsageError("bias must be 'uniform' or 'kind'")
    if resume is not None and not (Path(resume) / CHECKPOINT_FILE).exists():
        raise UsageError(f"no checkpoint to resume in {resume}")
    limits = Limits(max_states, max_seconds)
    try:
        result = _explore(model, strategy=strategy, symmetry=symmetry, limits=limits,
                          max_depth=max_depth, workers=workers,
                          all_violations=all_violations, checkpoint=checkpoint,
                          checkpoint_every=checkpoint_every, resume=resume, seed=seed,
                          walks=walks, walk_depth=walk_depth, bias=bias, exact=exact,
                          progress=progress, ray=ray)
        hint = _why_no_leader(model, result)
        return attrs.evolve(result, ray=ray,
                            notes=result.notes if hint is None else (*result.notes, hint))
    except CoreFault as fault:  # only building the initial state raises it out of a search
        return attrs.evolve(_fault_result(model, fault, strategy, symmetry, workers, limits),
                            ray=ray)


def _why_no_leader(model: AnyModel, result: ExploreResult) -> str | None:
    """When no leader was ever elected and the message bound cannot hold one election's
    RequestVotes (one to every peer, sent at once), say so: the bounds, not the core."""
    peers = model.config.cluster_size - 1
    if "leader elected" in result.goals or "leader elected" not in model.goal_names or \
            result.violations or model.bounds.max_messages >= peers:
        return None
    return (f"no leader can be elected within these bounds: a candidate sends {peers} "
            f"RequestVotes at once, more than msgs≤{model.bounds.max_messages} allows; "
            f"raise --max-messages to at least {peers}")


def _fault_result(model: AnyModel, fault: CoreFault, strategy: str, symmetry: bool,
                  workers: int, limits: Limits) -> ExploreResult:
    """The core failed building the initial state: a counterexample of no actions. (A core
    that fails on a step is found by the search itself, with the shortest run to it.)"""
    return ExploreResult(
        complete=False, stop_reason="core fault",
        violations=(Counterexample(fault.violation(), (), True),), distinct=0, generated=0,
        depth=0, seconds=limits.elapsed, goals=frozenset(), strategy=strategy,
        workers=workers, peak_rss=peak_rss(), **model_fields(model, symmetry))


def _explore(model: AnyModel, *, strategy: str, symmetry: bool, limits: Limits,
             max_depth: int | None, workers: int, all_violations: bool,
             checkpoint: str | os.PathLike[str] | None, checkpoint_every: float,
             resume: str | os.PathLike[str] | None, seed: int, walks: int | None,
             walk_depth: int, bias: str, exact: bool, progress: bool,
             ray: str | None) -> ExploreResult:
    title = f"explore {model.name} ({strategy})"
    with Interrupt() as interrupt, Progress(progress, title) as bar:
        result = _run_strategy(model, strategy=strategy, symmetry=symmetry, limits=limits,
                               max_depth=max_depth, workers=workers,
                               all_violations=all_violations, checkpoint=checkpoint,
                               checkpoint_every=checkpoint_every, resume=resume, seed=seed,
                               walks=walks, walk_depth=walk_depth, bias=bias, exact=exact,
                               bar=bar, interrupt=interrupt, ray=ray)
        # the last status line shows the result's own figures
        bar.update(distinct=result.distinct, generated=result.generated, depth=result.depth,
                   queue=result.queue, seconds=result.seconds, force=True)
        return result


def _run_strategy(model: AnyModel, *, strategy: str, symmetry: bool, limits: Limits,
                  max_depth: int | None, workers: int, all_violations: bool,
                  checkpoint: str | os.PathLike[str] | None, checkpoint_every: float,
                  resume: str | os.PathLike[str] | None, seed: int, walks: int | None,
                  walk_depth: int, bias: str, exact: bool, bar: Progress,
                  interrupt: Interrupt, ray: str | None) -> ExploreResult:
    if strategy == "bfs":
        return bfs(model, symmetry=symmetry, limits=limits, max_depth=max_depth,
                   workers=workers, all_violations=all_violations,
                   checkpoint=None if checkpoint is None else Path(checkpoint),
                   checkpoint_every=checkpoint_every,
                   resume=None if resume is None else Path(resume), progress=bar,
                   interrupt=interrupt, exact=exact, ray=ray)
    if strategy in ("dfs", "iddfs"):
        return depth_first(model, strategy=strategy, symmetry=symmetry, limits=limits,
                           max_depth=max_depth, all_violations=all_violations,
                           progress=bar, interrupt=interrupt)
    return simulate(model, symmetry=symmetry, limits=limits, seed=seed, walks=walks,
                    walk_depth=walk_depth, bias=bias, all_violations=all_violations,
                    progress=bar, interrupt=interrupt)

