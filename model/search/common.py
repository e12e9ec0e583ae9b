"""What the engines share: a state's successors (`steps`, and `expand` for BFS and its
workers, `expand_chunk` and the `Pool` interface for the workers wherever they run),
counterexamples rebuilt from candidate numbers, the limits, Ctrl-C handling, the
progress line, fingerprinting and memory figures."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from array import array
from collections.abc import Callable, Container, Iterator, Sequence
from typing import Any, Protocol

from attrs import define, field

from raftcheck.model.seam import AnyModel
from raftcheck.model.search.result import Counterexample
from raftcheck.model.search.store import FingerprintSet, StateQueue
from raftcheck.model.world import CoreFault
from raftcheck.properties import Violation

Fingerprinter = Callable[[Any], int]


def fingerprinter(model: AnyModel, symmetry: bool) -> Fingerprinter:
    return model.fingerprinter(symmetry)


def peak_rss() -> int:
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
        return peak_rss()


def steps(model: AnyModel, state: Any) -> Iterator[tuple[int, Any, Any, Violation | None]]:
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


def counterexample(model: AnyModel, indices: Sequence[int], shortest: bool) -> Counterexample:
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


class Interrupt:
    """Ctrl-C or SIGTERM (`timeout`, a scheduler) sets a flag the search polls between
    states, so it stops at a consistent point with partial statistics (and a checkpoint); a
    second signal interrupts at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}
        self._installed = False

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> Interrupt:
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            for signum, previous in self._previous.items():
                signal.signal(signum, previous)


class Progress:
    """A live status line on stderr (rich), refreshed at most twice a second."""

    def __init__(self, enabled: bool, title: str) -> None:
        self.enabled = enabled
        self.title = title
        self._live: Any = None
        self._last = 0.0

    def __enter__(self) -> Progress:
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
class Limits:
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


Expanded = tuple[int, int, Any, "Violation | None"]
"""(candidate number, fingerprint, the state or its encoding if it may be new else None,
violation)."""


def expand(model: AnyModel, fingerprint_of: Fingerprinter, state: Any,
            known: Container[int]) -> tuple[int, list[Expanded]]:
    """Every successor of `state`, fingerprinted and checked: all properties if its
    fingerprint is not `known` yet, the transition properties otherwise."""
    out: list[Expanded] = []
    generated = 0
    for index, action, after, fault in steps(model, state):
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


class WorkerLost(RuntimeError):
    """A worker failed or went away while expanding states. Under a signal to the whole
    process group (Ctrl-C, `timeout`) that is the signal's doing, and the search stops as
    interrupted; otherwise it is an error."""


Result = tuple[int, int, int, Any, Violation | None]
"""(frontier position, candidate number, fingerprint, the encoded successor if it may be new
else None, violation): one expanded successor, as a pool hands it to the BFS loop."""

Chunk = tuple[int, list[Result], set[str], int]
"""(successors generated, results, goals reached, the frontier position after the chunk)."""


class Pool(Protocol):
    """What the BFS loop (model/search/bfs.py) asks of its workers, wherever they run."""

    def tell_known(self, fps: array[int]) -> None:
        """Every worker learns these fingerprints (a finished level's, or all on resume)."""

    def expand(self, frontier: StateQueue, start: int) -> Iterator[Chunk]:
        """frontier[start:] (encoded states) expanded, chunk by chunk, in frontier order."""

    def close(self) -> None: ...


def chunk_size(remaining: int, workers: int) -> int:
    """States per chunk: about eight chunks per worker per level, 16 to 1,000 states each."""
    return max(16, min(1000, remaining // (8 * workers) or 1))


def expand_chunk(model: AnyModel, fingerprint_of: Fingerprinter, known: FingerprintSet,
                 start: int, encodings: Sequence[Any]) -> tuple[int, list[Result], set[str]]:
    """A worker's job: expand the encoded states of frontier[start:start + len(encodings)],
    remembering in `known` every fingerprint it ships, so that it ships only states that may
    be new. (generated, results, goals reached)."""
    generated = 0
    results: list[Result] = []
    goals: set[str] = set()
    for offset, encoded in enumerate(encodings):
        count, out = expand(model, fingerprint_of, model.decode(encoded), known)
        generated += count
        for index, fp, after, violation in out:
            if after is not None:
                known.add(fp)
                if len(goals) < len(model.goal_names):
                    goals |= model.goals_reached(after)
                after = model.encode(after)
            results.append((start + offset, index, fp, after, violation))
    return generated, results, goals
