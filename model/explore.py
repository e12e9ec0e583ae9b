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
* Strategies: `bfs` (shortest counterexamples; parallel with `workers`), `dfs` and `iddfs`
  (iterative deepening: shortest counterexamples in memory proportional to the depth-limited
  space, for deep narrow bugs), and `simulate` (seeded random walks, like TLC's -simulate).
* A run that stops on a bound (depth, states, seconds, Ctrl-C) is INCOMPLETE, never a pass; a
  complete run in which no reachability goal was reached is a BROKEN MODEL, not a pass.

Exit codes (`ExploreResult.verdict.exit_code`; the command line is model/cli/explore.py):
0 complete and clean, 1 violation, 2 bad usage, 3 incomplete without a
violation, 3 also when complete but vacuous (no reachability goal reached).
"""

from __future__ import annotations

import contextlib
import marshal
import multiprocessing
import os
import random
import signal
import sys
import threading
import time
import traceback
from array import array
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import attrs
from attrs import define, field, frozen

from raftcheck.model.fingerprint import digest_bytes
from raftcheck.model.seam import AnyModel
from raftcheck.model.trace import render_trace, replayable
from raftcheck.model.verdict import Exit, UsageError, Verdict
from raftcheck.model.world import (
    CORE_FAULT,
    Bounds,
    Config,
    CoreFault,
    Crash,
    Drop,
    Duplicate,
    Heal,
    Model,
    Partition,
    Restart,
)
from raftcheck.properties import (
    GOALS,
    Violation,
)

# Default bounds of `raftcheck explore`: 3 servers, terms up to 2, one command, a log of one
# entry, at most four messages in flight (a candidate's two RequestVotes and the replies), no
# faults. Exhausted in about a minute on one core (docs/exhaustive.md has the figures); every
# reachability goal is reached, and four of the five broken cores are caught (Figure 8's needs
# a fourth term: --max-term 4 --max-messages 3).
DEFAULT_BOUNDS = Bounds(max_term=2, max_log=1, values=1, max_messages=4, max_crashes=0,
                        max_partitions=0, drop=False, duplicate=False)
DEFAULT_NODES = 3

STRATEGIES = ("bfs", "dfs", "iddfs", "simulate")

CHECKPOINT_FILE = "explore-checkpoint.marshal"
CHECKPOINT_MAGIC = "raftcheck-explore-checkpoint-3"  # 3: parent links number candidate actions

Fingerprinter = Callable[[Any], int]


# ------------------------------------------------------------------------------ results


@frozen
class Counterexample:
    """A violated property and the actions that lead to it from the initial state."""

    violation: Violation
    actions: tuple[Any, ...]  # the model's actions (world actions, or a lockstep pair's)
    shortest: bool  # BFS and iterative deepening guarantee it; dfs and simulate do not

    @property
    def property(self) -> str:
        return self.violation.property


@define
class ExploreResult:
    """What a search found and how far it got. `complete` means every state reachable within
    the bounds was visited (for a violation: every state up to its depth)."""

    complete: bool
    stop_reason: str  # exhausted | violation | max_states | max_seconds | max_depth |
    # interrupted | walks | collision
    violations: tuple[Counterexample, ...]
    distinct: int
    generated: int
    depth: int
    seconds: float
    goals: frozenset[str]
    bounds: Bounds
    config: Config
    core: str
    strategy: str
    symmetry: bool
    workers: int
    queue: int = 0  # states discovered but not yet expanded when the search stopped
    walks: int = 0
    collisions: int = 0  # detected with exact=True only
    exact: bool = False
    peak_rss: int = 0
    notes: tuple[str, ...] = ()

    @property
    def verdict(self) -> Verdict:
        """VIOLATION; INCOMPLETE (stopped before the bounds were exhausted); VACUOUS
        ("BROKEN MODEL": complete, but no goal reached, so nothing was checked); PASS."""
        if self.violations:
            return Verdict.VIOLATION
        if not self.complete:
            return Verdict.INCOMPLETE
        if not self.goals:
            return Verdict.VACUOUS
        return Verdict.PASS

    @property
    def exit_code(self) -> Exit:
        return self.verdict.exit_code

    @property
    def collision_probability(self) -> float:
        """TLC's "calculated (optimistic)" estimate: each of the (generated - distinct) lookups
        that found a known fingerprint could have hit one of `distinct` others by chance."""
        return self.distinct * max(self.generated - self.distinct, 0) / 2.0**64

    @property
    def birthday_bound(self) -> float:
        """The chance that any two of `distinct` random 64-bit fingerprints coincide."""
        return self.distinct * self.distinct / 2.0**65

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "exit_code": int(self.exit_code),
            "complete": self.complete,
            "stop_reason": self.stop_reason,
            "core": self.core,
            "nodes": self.config.cluster_size,
            "timing": self.config.timing,
            "bounds": {**attrs.asdict(self.bounds), "describe": self.bounds.describe()},
            "strategy": self.strategy,
            "symmetry": self.symmetry,
            "workers": self.workers,
            "distinct": self.distinct,
            "generated": self.generated,
            "depth": self.depth,
            "queue": self.queue,
            "walks": self.walks,
            "seconds": round(self.seconds, 3),
            "distinct_per_second": round(self.distinct / self.seconds) if self.seconds else None,
            "generated_per_second": (round(self.generated / self.seconds) if self.seconds
                                     else None),
            "goals_reached": sorted(self.goals),
            "goals_missed": sorted(set(GOALS) - self.goals),
            "fingerprint_bits": 64,
            "exact": self.exact,
            "collisions_detected": self.collisions,
            "collision_probability_optimistic": self.collision_probability,
            "collision_probability_birthday": self.birthday_bound,
            "peak_rss_bytes": self.peak_rss,
            "notes": list(self.notes),
            "violations": [
                {"property": found.property, "detail": found.violation.detail,
                 "length": len(found.actions), "shortest": found.shortest,
                 "actions": [repr(action) for action in found.actions]}
                for found in self.violations
            ],
        }


def format_result(result: ExploreResult, model: Model | None = None) -> str:
    """The human report: verdict, bounds, counts, goals; each counterexample as a numbered
    trace (`model.trace.render_trace`) and a replayable action list when `model` is given."""
    lines = [
        f"raftcheck explore: core={result.core} nodes={result.config.cluster_size} "
        f"timing={result.config.timing} strategy={result.strategy} "
        f"symmetry={'on' if result.symmetry else 'off'} workers={result.workers}",
        f"bounds: {result.bounds.describe()}",
    ]
    verdict = result.verdict.value
    if result.verdict is Verdict.INCOMPLETE:
        verdict += f" (stopped: {result.stop_reason}; not a pass)"
    elif result.verdict is Verdict.PASS:
        verdict += " (complete: every reachable state within the bounds was checked)"
    elif result.verdict is Verdict.VACUOUS:
        verdict += " (complete, but no reachability goal was reached: nothing was checked)"
    elif not result.complete:
        verdict += f" (search stopped: {result.stop_reason})"
    lines.append(f"result: {verdict}")
    rate = (f", {result.distinct / result.seconds:,.0f} distinct/s, "
            f"{result.generated / result.seconds:,.0f} generated/s" if result.seconds else "")
    queue = f", {result.queue:,} left in queue" if result.queue else ""
    walks = f", {result.walks:,} walks" if result.strategy == "simulate" else ""
    lines.append(f"states: {result.distinct:,} distinct, {result.generated:,} generated, "
                 f"depth {result.depth}{queue}{walks}, {result.seconds:.1f} s{rate}")
    if result.exact:
        lines.append(f"fingerprints: exact states kept; {result.collisions} collisions "
                     "detected")
    else:
        lines.append(f"fingerprints: 64-bit; collision probability calculated (optimistic) "
                     f"{result.collision_probability:.1e}, birthday bound "
                     f"{result.birthday_bound:.1e}")
    marks = [f"{'✓' if name in result.goals else '✗'} {name}" for name in GOALS]
    lines.append("goals: " + "  ".join(marks))
    if result.peak_rss:
        per = (f" ({result.peak_rss / result.distinct:,.0f} bytes per distinct state, "
               "Python included)" if result.distinct >= 100_000 else "")
        lines.append(f"memory: peak RSS {result.peak_rss / 2**20:,.1f} MiB{per}")
    lines.extend(f"note: {note}" for note in result.notes)
    for found in result.violations:
        lines.append("")
        title = ("Counterexample (shortest)" if found.shortest
                 else "Counterexample (not necessarily shortest)")
        if model is not None:
            lines.append(render_trace(model, found.actions, found.violation, title=title))
            lines.append("")
            lines.append("Replay with Model(core, config, bounds).run(actions):")
            lines.append(replayable(found.actions))
        else:
            lines.append(f"{title}: {len(found.actions)} steps, {found.violation}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ helpers


def fingerprinter(model: AnyModel, symmetry: bool) -> Fingerprinter:
    return model.fingerprinter(symmetry)


def _peak_rss() -> int:
    """Peak resident set size of this process in bytes (0 where unknown)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Linux
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak * (1 if sys.platform == "darwin" else 1024)


def _current_rss() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return _peak_rss()


def _steps(model: AnyModel, state: Any) -> Iterator[tuple[int, Any, Any, Violation | None]]:
    """(candidate number, action, next state, fault) for each action whose guard holds in
    `state`, in order, leaving out those whose result is outside the bounds. A core that
    fails on an action (CoreFault) is a finding of the search like any violation: that step
    comes with no next state and the fault as a `CORE_FAULT` violation."""
    for index, action in enumerate(model.candidate_actions(state)):
        try:
            after = model.bounded_next(state, action)
        except CoreFault as fault:
            yield index, action, None, fault.violation()
            continue
        if after is not None:
            yield index, action, after, None


def replay_indices(model: AnyModel, indices: Sequence[int]) -> list[Any]:
    """The actions selected by candidate numbers, replayed from the initial state (the last
    may be the one the core failed on)."""
    state = model.initial_state()
    actions = []
    for index in indices:
        action = list(model.candidate_actions(state))[index]
        actions.append(action)
        if len(actions) < len(indices):
            state = model.bounded_next(state, action)
    return actions


def _counterexample(model: AnyModel, indices: Sequence[int], shortest: bool) -> Counterexample:
    """Rebuild the trace and re-derive its violation (the check is deterministic)."""
    actions = replay_indices(model, indices)
    try:
        states = model.run(actions)
    except CoreFault as fault:  # the core fails on the last action
        return Counterexample(fault.violation(), tuple(actions), shortest)
    violation = (model.check_step(states[-2], actions[-1], states[-1]) if actions
                 else model.check_initial(states[0]))
    assert violation is not None, "a recorded violation did not reproduce"
    return Counterexample(violation, tuple(actions), shortest)


class _Interrupt:
    """Ctrl-C sets a flag the search polls between states, so it stops at a consistent point
    with partial statistics (and a checkpoint); a second Ctrl-C interrupts at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> _Interrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)


class _Progress:
    """A live status line on stderr (rich), refreshed at most twice a second."""

    def __init__(self, enabled: bool, title: str) -> None:
        self.enabled = enabled
        self.title = title
        self._live: Any = None
        self._last = 0.0

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.live import Live

            self._live = Live("", console=Console(stderr=True), auto_refresh=False,
                              transient=False)
            self._live.start()
        return self

    def update(self, *, distinct: int, generated: int, depth: int, queue: int,
               seconds: float, force: bool = False) -> None:
        if self._live is None:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.5:
            return
        self._last = now
        rate = generated / seconds if seconds > 0 else 0.0
        self._live.update(
            f"{self.title}: {distinct:,} distinct, {generated:,} generated, depth {depth}, "
            f"queue {queue:,}, {rate:,.0f} states/s, {_current_rss() / 2**20:,.0f} MiB, "
            f"{seconds:,.0f} s", refresh=True)

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()


@define
class _Limits:
    max_states: int | None
    max_seconds: float | None
    started: float = field(factory=time.monotonic)
    carried: float = 0.0  # seconds spent before a resume

    @property
    def elapsed(self) -> float:
        return self.carried + time.monotonic() - self.started

    def out_of_time(self) -> bool:
        return self.max_seconds is not None and time.monotonic() - self.started > \
            self.max_seconds


# ------------------------------------------------------------------------------ BFS


Expanded = tuple[int, int, Any, "Violation | None"]
"""(candidate number, fingerprint, the state or its encoding if it may be new else None,
violation)."""


def _expand(model: AnyModel, fingerprint_of: Fingerprinter, state: Any,
            known: set[int] | dict[int, Any]) -> tuple[int, list[Expanded]]:
    """Every successor of `state`, fingerprinted and checked: all properties if its
    fingerprint is not `known` yet, the transition properties otherwise."""
    out: list[Expanded] = []
    generated = 0
    for index, action, after, fault in _steps(model, state):
        generated += 1
        if fault is not None:
            out.append((index, 0, None, fault))
            continue
        fp = fingerprint_of(after)
        if fp in known:
            violation = model.check_known(state, action, after)
            if violation is not None:
                out.append((index, fp, None, violation))
        else:
            out.append((index, fp, after, model.check_step(state, action, after)))
    return generated, out


def _worker_main(conn: Connection, model: AnyModel, symmetry: bool) -> None:
    """A BFS worker: expands chunks of a level (states arrive and leave as encodings, which are
    far cheaper to ship than pickled worlds) and remembers every fingerprint it has reported
    or been told about, so that it ships only states that may be new."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    fingerprint_of = fingerprinter(model, symmetry)
    known: set[int] = set()
    while True:
        message = conn.recv()
        if message[0] == "known":
            known.update(array("Q", message[1]))
        elif message[0] == "expand":
            _, chunk, start, encodings = message
            generated = 0
            results: list[tuple[int, int, int, Any, Violation | None]] = []
            goals: set[str] = set()
            try:
                for offset, encoded in enumerate(encodings):
                    count, out = _expand(model, fingerprint_of, model.decode(encoded), known)
                    generated += count
                    for index, fp, after, violation in out:
                        if after is not None:
                            known.add(fp)
                            if len(goals) < len(model.goal_names):
                                goals |= model.goals_reached(after)
                            after = model.encode(after)
                        results.append((start + offset, index, fp, after, violation))
            except Exception:  # a bug in the search itself: show its traceback in the parent
                conn.send((chunk, -1, traceback.format_exc(), goals))
                continue
            conn.send((chunk, generated, results, goals))
        else:
            conn.close()
            return


def process_context() -> Any:
    """How the engines start worker processes: fork where the platform has it (workers
    inherit the model, which need not pickle, and start in milliseconds), spawn elsewhere."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


class _Workers:
    """`count` worker processes, each fed one chunk at a time over its own pipe (one chunk in
    flight per worker, so the two ends never block sending to each other)."""

    def __init__(self, model: AnyModel, symmetry: bool, count: int) -> None:
        context = process_context()
        self.connections: list[Connection] = []
        self.processes: list[Any] = []
        for _ in range(count):
            parent, child = context.Pipe()
            process = context.Process(target=_worker_main, args=(child, model, symmetry),
                                      daemon=True)
            process.start()
            child.close()
            self.connections.append(parent)
            self.processes.append(process)

    def tell_known(self, fps: array[int]) -> None:
        data = fps.tobytes()
        for connection in self.connections:
            connection.send(("known", data))

    def expand(self, frontier: Sequence[Any], start: int
               ) -> Iterator[tuple[int, list[tuple[int, int, int, Any, Violation | None]],
                                   set[str], int]]:
        """(generated, results, goals, next position) per chunk of frontier[start:], in
        frontier order whatever order the workers finish in."""
        remaining = len(frontier) - start
        size = max(16, min(1000, remaining // (8 * len(self.connections)) or 1))
        chunks = [(number, position) for number, position in
                  enumerate(range(start, len(frontier), size))]
        pending: dict[int, tuple[int, list[Any], set[str]]] = {}
        busy: dict[Connection, int] = {}
        next_chunk = 0
        to_yield = 0
        while to_yield < len(chunks):
            for connection in self.connections:
                if connection not in busy and next_chunk < len(chunks):
                    number, position = chunks[next_chunk]
                    connection.send(("expand", number, position,
                                     list(frontier[position: position + size])))
                    busy[connection] = number
                    next_chunk += 1
            for ready in wait(list(busy)):
                assert isinstance(ready, Connection)
                number, generated, results, goals = ready.recv()
                if generated < 0:
                    raise RuntimeError(f"a worker failed while expanding states:\n{results}")
                del busy[ready]
                pending[number] = (generated, results, goals)
            while to_yield in pending:
                generated, results, goals = pending.pop(to_yield)
                end = min(chunks[to_yield][1] + size, len(frontier))
                to_yield += 1
                yield generated, results, goals, end

    def close(self) -> None:
        for connection, process in zip(self.connections, self.processes, strict=True):
            with contextlib.suppress(OSError):
                connection.send(("stop",))
            connection.close()
            process.join(timeout=1)
            if process.is_alive():
                process.terminate()
                process.join()


@define
class _Level:
    """One BFS level: fingerprints, each state's parent position in the previous level, and
    the candidate-action number that led there (the parent links, 14 bytes a state)."""

    fps: array[int] = field(factory=lambda: array("Q"))
    parents: array[int] = field(factory=lambda: array("I"))
    indices: array[int] = field(factory=lambda: array("H"))

    def to_bytes(self) -> tuple[bytes, bytes, bytes]:
        return self.fps.tobytes(), self.parents.tobytes(), self.indices.tobytes()

    @classmethod
    def from_bytes(cls, data: Sequence[bytes]) -> _Level:
        level = cls()
        level.fps.frombytes(data[0])
        level.parents.frombytes(data[1])
        level.indices.frombytes(data[2])
        return level


@define
class _Bfs:
    """Breadth-first search state: everything a checkpoint must hold."""

    model: AnyModel
    symmetry: bool
    levels: list[_Level]
    frontier: list[Any]  # Worlds (one process) or encodings (workers)
    next_level: _Level
    next_frontier: list[Any]
    position: int  # frontier[:position] is expanded
    seen: set[int]
    generated: int
    goals: set[str]
    found: list[tuple[str, list[int]]]  # (property, candidate numbers) in discovery order
    seconds: float = 0.0

    def path(self, depth: int, position: int) -> list[int]:
        """Successor numbers from the initial state to levels[depth].fps[position]."""
        indices: list[int] = []
        while depth > 0:
            level = self.levels[depth]
            indices.append(level.indices[position])
            position = level.parents[position]
            depth -= 1
        indices.reverse()
        return indices

    # ------------------------------------------------------------ checkpoints

    def save(self, directory: Path, seconds: float, encoded: bool) -> None:
        """Write the whole search state to `directory` atomically (write, fsync, rename)."""
        directory.mkdir(parents=True, exist_ok=True)

        def encodings(states: list[Any]) -> list[Any]:
            return states if encoded else [self.model.encode(state) for state in states]

        data = {
            "magic": CHECKPOINT_MAGIC,
            "python": list(sys.version_info[:2]),
            "identity": _identity(self.model, self.symmetry),
            "levels": [level.to_bytes() for level in self.levels],
            "next_level": self.next_level.to_bytes(),
            "frontier": encodings(self.frontier),
            "next_frontier": encodings(self.next_frontier),
            "position": self.position,
            "generated": self.generated,
            "goals": sorted(self.goals),
            "found": self.found,
            "seconds": seconds,
        }
        target = directory / CHECKPOINT_FILE
        temporary = directory / (CHECKPOINT_FILE + ".tmp")
        with open(temporary, "wb") as out:
            marshal.dump(data, out, MARSHAL_FILE_VERSION)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)

    @classmethod
    def load(cls, directory: Path, model: AnyModel, symmetry: bool, encoded: bool) -> _Bfs:
        path = directory / CHECKPOINT_FILE
        try:
            with open(path, "rb") as source:
                data = marshal.load(source)
        except (OSError, EOFError, ValueError, TypeError) as error:
            raise UsageError(f"cannot read checkpoint {path}: {error}") from None
        magic = data.get("magic") if isinstance(data, dict) else None
        if magic != CHECKPOINT_MAGIC:
            if isinstance(magic, str) and magic.startswith(CHECKPOINT_MAGIC.rsplit("-", 1)[0]):
                raise UsageError(f"{path} is a checkpoint in an older format ({magic}); this "
                                 f"raftcheck reads {CHECKPOINT_MAGIC}: start the search again")
            raise UsageError(f"{path} is not a raftcheck explore checkpoint")
        if data["python"] != list(sys.version_info[:2]):
            raise UsageError(f"{path} was written by Python {data['python']}, not "
                             f"{list(sys.version_info[:2])}")
        if data["identity"] != _identity(model, symmetry):
            raise UsageError(f"{path} is a checkpoint of a different search: "
                             f"{data['identity']!r}")
        levels = [_Level.from_bytes(level) for level in data["levels"]]
        next_level = _Level.from_bytes(data["next_level"])
        seen: set[int] = set()
        for level in (*levels, next_level):
            seen.update(level.fps)

        def states(encodings: list[Any]) -> list[Any]:
            return encodings if encoded else [model.decode(item) for item in encodings]

        return cls(model, symmetry, levels, states(data["frontier"]), next_level,
                   states(data["next_frontier"]), data["position"], seen, data["generated"],
                   set(data["goals"]), [(name, list(path)) for name, path in data["found"]],
                   data["seconds"])


MARSHAL_FILE_VERSION = 4


def _identity(model: AnyModel, symmetry: bool) -> list[Any]:
    """What a checkpoint must match to be resumed: the same core, world, bounds, reduction."""
    return [*model.identity(), model.symmetric(symmetry)]


def _bfs(model: AnyModel, *, symmetry: bool, limits: _Limits, max_depth: int | None,
         workers: int, all_violations: bool, checkpoint: Path | None,
         checkpoint_every: float, resume: Path | None, progress: _Progress,
         interrupt: _Interrupt, exact: bool) -> ExploreResult:
    fingerprint_of = fingerprinter(model, symmetry)
    parallel = workers > 1
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
        search = _Bfs.load(resume, model, symmetry, encoded=parallel)
        limits.carried = search.seconds
    else:
        initial = model.initial_state()
        fp = fingerprint_of(initial)
        level = _Level()
        level.fps.append(fp)
        level.parents.append(0)
        level.indices.append(0)
        search = _Bfs(model, symmetry, [level],
                      [model.encode(initial) if parallel else initial], _Level(), [], 0, {fp},
                      0, set(model.goals_reached(initial)), [])
        violation = model.check_initial(initial)
        if violation is not None:
            search.found.append((violation.property, []))
    pool = _Workers(model, symmetry, workers) if parallel else None
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
        if after is not None and fp not in search.seen:
            if limits.max_states is not None and len(search.seen) >= limits.max_states:
                return "max_states"
            search.seen.add(fp)
            search.next_level.fps.append(fp)
            search.next_level.parents.append(position)
            search.next_level.indices.append(index)
            search.next_frontier.append(after)
            new = True
            if not parallel and len(search.goals) < len(model.goal_names):
                search.goals |= model.goals_reached(after)
        # A state-property violation counts at the state's first discovery only (elsewhere it
        # is a repeat; a worker may check a state another worker found first in this level).
        if violation is not None and (new or violation.property in model.transition_names
                                      or violation.property == CORE_FAULT) \
                and record(depth, position, index, violation):
            return "core fault" if violation.property == CORE_FAULT else "violation"
        return ""

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
                if any(True for state in states for _ in _steps(model, state)):
                    stop_reason = "max_depth"
                break
            if pool is not None:
                if resume is not None:  # a resumed worker must learn everything seen
                    for level in (*search.levels, search.next_level):
                        pool.tell_known(level.fps)
                    resume = None
                elif search.position == 0:  # workers know all earlier levels already
                    pool.tell_known(search.levels[-1].fps)
                for generated, results, goals, end in pool.expand(search.frontier,
                                                                  search.position):
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
                        search.save(checkpoint, limits.elapsed, parallel)
                        last_checkpoint = time.monotonic()
                    progress.update(distinct=len(search.seen), generated=search.generated,
                                    depth=depth, queue=len(search.frontier) - search.position
                                    + len(search.next_frontier), seconds=limits.elapsed)
            else:
                frontier = search.frontier
                while search.position < len(frontier):
                    position = search.position
                    generated, out = _expand(model, fingerprint_of, frontier[position],
                                             search.seen)
                    for index, fp, after, violation in out:
                        stop_reason = merge(depth, position, index, fp, after, violation)
                        if stop_reason:
                            break
                    if stop_reason == "max_states":
                        break  # this state is not fully expanded: redo it on resume
                    search.generated += generated
                    search.position += 1
                    if stop_reason:
                        break
                    stop_reason = stopping()
                    if stop_reason:
                        break
                    if position & 63 == 0:
                        if checkpoint is not None and \
                                time.monotonic() - last_checkpoint > checkpoint_every:
                            search.save(checkpoint, limits.elapsed, parallel)
                            last_checkpoint = time.monotonic()
                        progress.update(distinct=len(search.seen), generated=search.generated,
                                        depth=depth, queue=len(frontier) - search.position
                                        + len(search.next_frontier), seconds=limits.elapsed)
            if stop_reason:
                break
            search.levels.append(search.next_level)
            search.frontier, search.next_frontier = search.next_frontier, []
            search.next_level, search.position = _Level(), 0
    except KeyboardInterrupt:  # a second Ctrl-C: the search state may be half-updated
        stop_reason = "interrupted"
        checkpoint = None
    finally:
        if pool is not None:
            pool.close()
    if collisions:
        stop_reason = stop_reason or "collision"
    seconds = limits.elapsed
    if checkpoint is not None and stop_reason in ("interrupted", "max_seconds", "max_states",
                                                  "max_depth"):
        search.save(checkpoint, seconds, parallel)
    progress.update(distinct=len(search.seen), generated=search.generated,
                    depth=len(search.levels) - 1, queue=0, seconds=seconds, force=True)
    violations = tuple(_counterexample(model, path, shortest=True) for _, path in search.found)
    # Complete: the whole bounded space was visited (with --all, violations and all).
    complete = not stop_reason and not collisions
    depth = max(number for number, level in enumerate((*search.levels, search.next_level))
                if level.fps)
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
        bounds=model.bounds,
        config=model.config,
        core=model.name,
        strategy="bfs",
        symmetry=model.symmetric(symmetry),
        workers=workers,
        queue=len(search.frontier) - search.position + len(search.next_frontier)
        if stop_reason not in ("", "violation", "core fault") else 0,
        collisions=collisions,
        exact=exact,
        peak_rss=_peak_rss(),
        notes=tuple(notes),
    )


# ------------------------------------------------------------------------------ DFS, IDDFS


@define
class _DepthFirst:
    """One depth-first pass, optionally depth-limited. `seen` maps each fingerprint to the
    least depth it was reached at; with a limit, a state reached again at a smaller depth is
    expanded again, so every state within the limit is expanded at its true distance and
    every transition from it is checked."""

    model: AnyModel
    fingerprint_of: Fingerprinter
    limit: int | None
    limits: _Limits
    all_violations: bool
    interrupt: _Interrupt
    progress: _Progress
    seen: dict[int, int] = field(factory=dict)
    generated: int = 0
    deepest: int = 0
    truncated: bool = False
    goals: set[str] = field(factory=set)
    found: list[tuple[Violation, list[int]]] = field(factory=list)
    stop_reason: str = ""

    def run(self) -> None:
        model = self.model
        initial = model.initial_state()
        self.seen[self.fingerprint_of(initial)] = 0
        self.goals |= model.goals_reached(initial)
        violation = model.check_initial(initial)
        if violation is not None and self._record(violation, []):
            return
        names = {v.property for v, _ in self.found}
        stack: list[tuple[Any, Iterator[tuple[int, Any, Any, Violation | None]]]] = [
            (initial, _steps(model, initial))]
        path: list[int] = []
        limit = self.limit
        steps = 0
        while stack:
            state, successors = stack[-1]
            step = next(successors, None)
            if step is None:
                stack.pop()
                if path:
                    path.pop()
                continue
            index, action, after, fault = step
            depth = len(stack)
            self.generated += 1
            if fault is not None:
                if fault.property not in names:
                    names.add(fault.property)
                    if self._record(fault, [*path, index]):
                        return
                continue
            fp = self.fingerprint_of(after)
            known = self.seen.get(fp)
            if known is None:
                if self.limits.max_states is not None and \
                        len(self.seen) >= self.limits.max_states:
                    self.stop_reason = "max_states"
                    return
                self.seen[fp] = depth
                if len(self.goals) < len(model.goal_names):
                    self.goals |= model.goals_reached(after)
                violation = model.check_step(state, action, after)
                expand = True
            else:
                violation = model.check_known(state, action, after)
                expand = limit is not None and depth < known
                if expand:
                    self.seen[fp] = depth
            if violation is not None and violation.property not in names:
                names.add(violation.property)
                if self._record(violation, [*path, index]):
                    return
            if expand:
                self.deepest = max(self.deepest, depth)
                if limit is not None and depth >= limit:
                    if not self.truncated and any(True for _ in _steps(model, after)):
                        self.truncated = True
                else:
                    stack.append((after, _steps(model, after)))
                    path.append(index)
            steps += 1
            if steps & 255 == 0:
                if self.interrupt.requested:
                    self.stop_reason = "interrupted"
                    return
                if self.limits.out_of_time():
                    self.stop_reason = "max_seconds"
                    return
                self.progress.update(distinct=len(self.seen), generated=self.generated,
                                     depth=len(stack), queue=len(stack),
                                     seconds=self.limits.elapsed)

    def _record(self, violation: Violation, indices: list[int]) -> bool:
        self.found.append((violation, indices))
        if not self.all_violations:
            self.stop_reason = "core fault" if violation.property == CORE_FAULT else "violation"
            return True
        return False


def _depth_first(model: AnyModel, *, strategy: str, symmetry: bool, limits: _Limits,
                 max_depth: int | None, all_violations: bool, progress: _Progress,
                 interrupt: _Interrupt) -> ExploreResult:
    fingerprint_of = fingerprinter(model, symmetry)
    generated = 0
    goals: set[str] = set()
    if strategy == "dfs":
        limits_to_try: Iterator[int | None] = iter([max_depth])
    else:
        last = max_depth if max_depth is not None else 2**31

        def deepening() -> Iterator[int | None]:
            yield from range(1, last + 1)

        limits_to_try = deepening()
    search: _DepthFirst | None = None
    previous_distinct = -1
    stop_reason = ""
    exhausted = False
    found: dict[str, tuple[Violation, list[int]]] = {}
    try:
        for limit in limits_to_try:
            if search is not None and (interrupt.requested or limits.out_of_time()):
                stop_reason = "interrupted" if interrupt.requested else "max_seconds"
                break
            search = _DepthFirst(model, fingerprint_of, limit, limits, all_violations,
                                 interrupt, progress)
            search.run()
            generated += search.generated
            goals |= search.goals
            for violation, indices in search.found:  # the first round a property broke in
                found.setdefault(violation.property, (violation, indices))
            stop_reason = search.stop_reason
            if stop_reason:
                break
            # Exhausted when nothing was cut off at the limit, or when a deeper limit found
            # no new state (then every state is within the previous limit and was expanded).
            if not search.truncated or len(search.seen) == previous_distinct:
                exhausted = True
                break
            previous_distinct = len(search.seen)
    except KeyboardInterrupt:
        stop_reason = "interrupted"
    assert search is not None
    if not stop_reason and not exhausted:
        stop_reason = "max_depth"
    shortest = strategy == "iddfs"
    violations = tuple(
        Counterexample(violation, tuple(replay_indices(model, indices)), shortest)
        for violation, indices in found.values())
    complete = not stop_reason
    return ExploreResult(
        complete=complete,
        stop_reason=stop_reason or "exhausted",
        violations=violations,
        distinct=len(search.seen),
        generated=generated,
        depth=search.deepest,
        seconds=limits.elapsed,
        goals=frozenset(goals),
        bounds=model.bounds,
        config=model.config,
        core=model.name,
        strategy=strategy,
        symmetry=model.symmetric(symmetry),
        workers=1,
        peak_rss=_peak_rss(),
    )


# ------------------------------------------------------------------------------ simulation

# Action kinds for `bias="kind"`: a step first picks a kind uniformly among those enabled, then
# an action of that kind, so that faults (many drops, a crash per node) do not drown progress.
_FAULTS = (Drop, Duplicate, Crash, Restart, Partition, Heal)


def _kind(model: AnyModel, action: Any) -> Any:
    """The group a biased walk draws first: the model's kind, with every fault one group."""
    kind = model.kind_of(action)
    return "fault" if kind in _FAULTS else kind


def _simulate(model: AnyModel, *, symmetry: bool, limits: _Limits, seed: int, walks: int | None,
              walk_depth: int, bias: str, all_violations: bool, progress: _Progress,
              interrupt: _Interrupt) -> ExploreResult:
    """Seeded random walks from the initial state (TLC's -simulate). Never complete."""
    fingerprint_of = fingerprinter(model, symmetry)
    rng = random.Random(seed)
    seen: set[int] = set()
    generated = 0
    done = 0
    deepest = 0
    goals: set[str] = set()
    found: list[Counterexample] = []
    names: set[str] = set()
    stop_reason = ""
    initial = model.initial_state()
    seen.add(fingerprint_of(initial))
    goals |= model.goals_reached(initial)
    violation = model.check_initial(initial)
    if violation is not None:
        found.append(Counterexample(violation, (), True))
        stop_reason = "violation"
    try:
        while not stop_reason and (walks is None or done < walks):
            state = initial
            actions: list[Any] = []
            for _ in range(walk_depth):
                options = [(action, after, fault)
                           for _, action, after, fault in _steps(model, state)]
                if not options:
                    break
                if bias == "kind":
                    kinds = sorted({_kind(model, option[0]) for option in options}, key=str)
                    chosen = rng.choice(kinds)
                    options = [option for option in options
                               if _kind(model, option[0]) == chosen]
                action, after, fault = rng.choice(options)
                actions.append(action)
                generated += 1
                if fault is not None:  # the core failed: a finding, and the walk ends
                    if fault.property not in names:
                        names.add(fault.property)
                        found.append(Counterexample(fault, tuple(actions), False))
                        if not all_violations:
                            stop_reason = "core fault"
                    break
                fp = fingerprint_of(after)
                if fp not in seen:
                    if limits.max_states is not None and len(seen) >= limits.max_states:
                        stop_reason = "max_states"
                        break
                    seen.add(fp)
                    if len(goals) < len(model.goal_names):
                        goals |= model.goals_reached(after)
                    violation = model.check_step(state, action, after)
                else:
                    violation = model.check_known(state, action, after)
                state = after
                if violation is not None and violation.property not in names:
                    names.add(violation.property)
                    found.append(Counterexample(violation, tuple(actions), False))
                    if not all_violations:
                        stop_reason = "violation"
                        break
            deepest = max(deepest, len(actions))
            done += 1
            if not stop_reason:
                if interrupt.requested:
                    stop_reason = "interrupted"
                elif limits.out_of_time():
                    stop_reason = "max_seconds"
            progress.update(distinct=len(seen), generated=generated, depth=deepest,
                            queue=0, seconds=limits.elapsed)
    except KeyboardInterrupt:
        stop_reason = "interrupted"
    return ExploreResult(
        complete=False,
        stop_reason=stop_reason or "walks",
        violations=tuple(found),
        distinct=len(seen),
        generated=generated,
        depth=deepest,
        seconds=limits.elapsed,
        goals=frozenset(goals),
        bounds=model.bounds,
        config=model.config,
        core=model.name,
        strategy="simulate",
        symmetry=model.symmetric(symmetry),
        workers=1,
        walks=done,
        peak_rss=_peak_rss(),
        notes=("simulation samples the space: it can find bugs, never prove their absence",),
    )


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
) -> ExploreResult:
    """Search `model`'s state space. See the module docstring; raises UsageError on options
    that do not go together (checkpoints and workers are for bfs only, exact is one process)."""
    if strategy not in STRATEGIES:
        raise UsageError(f"unknown strategy {strategy!r}; choose from {', '.join(STRATEGIES)}")
    if workers < 1:
        raise UsageError("workers must be at least 1")
    for name, value in (("max_states", max_states), ("max_seconds", max_seconds),
                        ("max_depth", max_depth)):
        if value is not None and value < 0:
            raise UsageError(f"{name} must be >= 0")
    if strategy != "bfs" and (workers > 1 or checkpoint is not None or resume is not None):
        raise UsageError("--workers, --checkpoint and --resume apply to --strategy bfs only")
    if exact and (workers > 1 or checkpoint is not None or resume is not None
                  or strategy != "bfs"):
        raise UsageError("--exact keeps states in one process: bfs, one worker, no checkpoint")
    if bias not in ("uniform", "kind"):
        raise UsageError("bias must be 'uniform' or 'kind'")
    if resume is not None and not (Path(resume) / CHECKPOINT_FILE).exists():
        raise UsageError(f"no checkpoint to resume in {resume}")
    limits = _Limits(max_states, max_seconds)
    try:
        return _explore(model, strategy=strategy, symmetry=symmetry, limits=limits,
                        max_depth=max_depth, workers=workers, all_violations=all_violations,
                        checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                        resume=resume, seed=seed, walks=walks, walk_depth=walk_depth,
                        bias=bias, exact=exact, progress=progress)
    except CoreFault as fault:  # only building the initial state raises it out of a search
        return _fault_result(model, fault, strategy, symmetry, workers, limits)


def _fault_result(model: AnyModel, fault: CoreFault, strategy: str, symmetry: bool,
                  workers: int, limits: _Limits) -> ExploreResult:
    """The core failed building the initial state: a counterexample of no actions. (A core
    that fails on a step is found by the search itself, with the shortest run to it.)"""
    return ExploreResult(
        complete=False, stop_reason="core fault",
        violations=(Counterexample(fault.violation(), (), True),), distinct=0, generated=0,
        depth=0, seconds=limits.elapsed, goals=frozenset(), bounds=model.bounds,
        config=model.config, core=model.name, strategy=strategy,
        symmetry=model.symmetric(symmetry), workers=workers, peak_rss=_peak_rss())


def _explore(model: AnyModel, *, strategy: str, symmetry: bool, limits: _Limits,
             max_depth: int | None, workers: int, all_violations: bool,
             checkpoint: str | os.PathLike[str] | None, checkpoint_every: float,
             resume: str | os.PathLike[str] | None, seed: int, walks: int | None,
             walk_depth: int, bias: str, exact: bool, progress: bool) -> ExploreResult:
    title = f"explore {model.name} ({strategy})"
    with _Interrupt() as interrupt, _Progress(progress, title) as bar:
        if strategy == "bfs":
            return _bfs(model, symmetry=symmetry, limits=limits, max_depth=max_depth,
                        workers=workers, all_violations=all_violations,
                        checkpoint=None if checkpoint is None else Path(checkpoint),
                        checkpoint_every=checkpoint_every,
                        resume=None if resume is None else Path(resume), progress=bar,
                        interrupt=interrupt, exact=exact)
        if strategy in ("dfs", "iddfs"):
            return _depth_first(model, strategy=strategy, symmetry=symmetry, limits=limits,
                                max_depth=max_depth, all_violations=all_violations,
                                progress=bar, interrupt=interrupt)
        return _simulate(model, symmetry=symmetry, limits=limits, seed=seed, walks=walks,
                         walk_depth=walk_depth, bias=bias, all_violations=all_violations,
                         progress=bar, interrupt=interrupt)
