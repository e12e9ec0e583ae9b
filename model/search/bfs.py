"""Breadth-first search (`strategy="bfs"`): shortest counterexamples, in one process or with
worker processes, optionally checkpointed and resumed, with exact states on request."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from raftcheck.model.fingerprint import digest_bytes
from raftcheck.model.seam import AnyModel
from raftcheck.model.search.checkpoint import Bfs, Level, Levels, new_queue
from raftcheck.model.search.common import (
    Chunk,
    Interrupt,
    Limits,
    Progress,
    WorkerLost,
    counterexample,
    expand,
    fingerprinter,
    peak_rss,
    steps,
)
from raftcheck.model.search.pool import make_pool
from raftcheck.model.search.result import ExploreResult, model_fields
from raftcheck.model.search.store import FingerprintSet, StateQueue
from raftcheck.model.world import CORE_FAULT
from raftcheck.properties import Violation


def bfs(model: AnyModel, *, symmetry: bool, limits: Limits, max_depth: int | None,
         workers: int, all_violations: bool, checkpoint: Path | None,
         checkpoint_every: float, resume: Path | None, progress: Progress,
         interrupt: Interrupt, exact: bool, ray: str | None = None) -> ExploreResult:
    fingerprint_of = fingerprinter(model, symmetry)
    parallel = workers > 1 or ray is not None
    exact_states: dict[int, bytes] | None = {} if exact else None
    collisions = 0
    reduce = model.symmetric(symmetry)

    def fingerprint_exact(state: Any) -> int:
        nonlocal collisions
        assert exact_states is not None
        data = model.state_bytes(state, reduce)
        fp = digest_bytes(data)
        known = exact_states.setdefault(fp, data)
        if known != data:
            collisions += 1
        return fp

    if exact:
        fingerprint_of = fingerprint_exact

    if resume is not None:
        search = Bfs.load(resume, model, symmetry, encoded=parallel)
        limits.carried = search.seconds
    else:
        initial = model.initial_state()
        fp = fingerprint_of(initial)
        level = Level()
        level.fps.append(fp)
        level.parents.append(0)
        level.indices.append(0)
        frontier = new_queue(model, parallel)
        frontier.append(model.encode(initial) if parallel else initial)
        search = Bfs(model, symmetry, Levels([level]), frontier, Level(),
                     new_queue(model, parallel), 0, FingerprintSet([fp]), 0,
                     set(model.goals_reached(initial)), [], encoded=parallel)
        violation = model.check_initial(initial)
        if violation is not None:
            search.found.append((violation.property, []))
    pool = make_pool(model, symmetry, workers, ray) if parallel else None
    stop_reason = ""
    last_checkpoint = time.monotonic()
    found_names = {name for name, _ in search.found}

    def stopping() -> str:
        if interrupt.requested:
            return "interrupted"
        if limits.out_of_time():
            return "max_seconds"
        return ""

    def record(depth: int, position: int, index: int, violation: Violation) -> bool:
        """Keep the first violation of each property; True when the search must stop."""
        if violation.property not in found_names:
            found_names.add(violation.property)
            search.found.append((violation.property, [*search.path(depth, position), index]))
        return not all_violations

    def merge(depth: int, position: int, index: int, fp: int, after: Any,
              violation: Violation | None) -> str:
        """Fold one expanded successor into the search, in sequential BFS order."""
        new = False
        if after is not None:
            if limits.max_states is not None and len(search.seen) >= limits.max_states \
                    and fp not in search.seen:
                return "max_states"
            new = search.seen.add(fp)  # True when not seen before
        if new:
            search.next_level.fps.append(fp)
            search.next_level.parents.append(position)
            search.next_level.indices.append(index)
            search.next_frontier.append(after)  # a World, or a worker's encoding of one
            if not parallel and len(search.goals) < len(model.goal_names):
                search.goals |= model.goals_reached(after)
        # A state-property violation counts at the state's first discovery only (elsewhere it
        # is a repeat; a worker may check a state another worker found first in this level).
        if violation is not None and (new or violation.property in model.transition_names
                                      or violation.property == CORE_FAULT) \
                and record(depth, position, index, violation):
            return "core fault" if violation.property == CORE_FAULT else "violation"
        return ""

    def expand_here(frontier: StateQueue, start: int) -> Iterator[Chunk]:
        """frontier[start:] expanded in this process, one state a chunk, lazily: each is
        merged before the next is expanded, so `search.seen` is up to date."""
        block: list[Any] = []
        block_start = start
        for position in range(start, len(frontier)):
            if position - block_start >= len(block):
                block_start, block = position, frontier.read(position, position + 256)
            generated, out = expand(model, fingerprint_of, block[position - block_start],
                                    search.seen)
            yield generated, [(position, *item) for item in out], set(), position + 1

    if search.found and not all_violations:
        stop_reason = "violation"
    try:
        while search.frontier:
            if stop_reason:
                break
            depth = len(search.levels) - 1
            if max_depth is not None and depth >= max_depth:
                # Stopped at the depth bound: incomplete unless no frontier state can move.
                states = search.frontier if not parallel else map(model.decode,
                                                                  search.frontier)
                if any(True for state in states for _ in steps(model, state)):
                    stop_reason = "max_depth"
                break
            if pool is not None:
                if resume is not None:  # a resumed worker must learn everything seen
                    for level in (*search.levels, search.next_level):
                        pool.tell_known(level.fps)
                    resume = None
                elif search.position == 0:  # workers know all earlier levels already
                    pool.tell_known(search.levels.last.fps)
                chunks = pool.expand(search.frontier, search.position)
            else:
                chunks = expand_here(search.frontier, search.position)
            for generated, results, goals, end in chunks:
                search.goals |= goals
                for position, index, fp, after, violation in results:
                    stop_reason = merge(depth, position, index, fp, after, violation)
                    if stop_reason:
                        break
                if stop_reason == "max_states":
                    break  # the chunk is not fully merged: redo it on resume
                search.generated += generated
                search.position = end
                if stop_reason:
                    break
                stop_reason = stopping()
                if stop_reason:
                    break
                if checkpoint is not None and \
                        time.monotonic() - last_checkpoint > checkpoint_every:
                    search.save(checkpoint, limits.elapsed)
                    last_checkpoint = time.monotonic()
                progress.update(distinct=len(search.seen), generated=search.generated,
                                depth=depth, queue=len(search.frontier) - search.position
                                + len(search.next_frontier), seconds=limits.elapsed)
            if stop_reason:
                break
            search.advance()
    except KeyboardInterrupt:  # a second Ctrl-C: the search state may be half-updated
        stop_reason = "interrupted"
        checkpoint = None
    except WorkerLost:
        if not interrupt.requested:
            raise
        # the signal reached the workers too; the lost chunk was not merged, so the search
        # state is whole and a checkpoint resumes it
        stop_reason = "interrupted"
    finally:
        if pool is not None:
            pool.close()
    if collisions:
        stop_reason = stop_reason or "collision"
    seconds = limits.elapsed
    if checkpoint is not None and stop_reason in ("interrupted", "max_seconds", "max_states",
                                                  "max_depth"):
        search.save(checkpoint, seconds)
    violations = tuple(counterexample(model, path, shortest=True) for _, path in search.found)
    # Complete: the whole bounded space was visited (with --all, violations and all).
    complete = not stop_reason and not collisions
    depth = search.depth()
    queue = (len(search.frontier) - search.position + len(search.next_frontier)
             if stop_reason not in ("", "violation", "core fault") else 0)
    search.close()
    notes = []
    if collisions:
        notes.append(f"{collisions} fingerprint collisions: the state counts are not exact")
    if symmetry and not model.symmetric(symmetry):
        notes.append("symmetry reduction is off: the timed world (or a cluster this large) "
                     "is not reduced")
    return ExploreResult(
        complete=complete,
        stop_reason=stop_reason or "exhausted",
        violations=violations,
        distinct=len(search.seen),
        generated=search.generated,
        depth=depth,
        seconds=seconds,
        goals=frozenset(search.goals),
        strategy="bfs",
        **model_fields(model, symmetry),
        workers=workers,
        queue=queue,
        collisions=collisions,
        exact=exact,
        peak_rss=peak_rss(),
        notes=tuple(notes),
    )
