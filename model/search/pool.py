"""BFS worker processes: how they are started (`process_context`, also used by fuzz), the
worker loop and `Workers`, the parent's end that feeds them chunks of a level; `make_pool`,
which picks these or Ray actors (model/search/ray_pool.py, the same interface: `Pool`)."""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import traceback
from array import array
from collections.abc import Iterator
from multiprocessing.connection import Connection, wait
from typing import Any

from raftcheck.model.seam import AnyModel
from raftcheck.model.search.common import (
    Chunk,
    Pool,
    WorkerLost,
    chunk_size,
    expand_chunk,
    fingerprinter,
)
from raftcheck.model.search.store import FingerprintSet, StateQueue
from raftcheck.model.verdict import UsageError


def _worker_main(conn: Connection, model: AnyModel, symmetry: bool) -> None:
    """A BFS worker: expands chunks of a level (states arrive and leave as encodings, which are
    far cheaper to ship than pickled worlds) and remembers every fingerprint it has reported
    or been told about."""
    # The parent handles Ctrl-C and SIGTERM (sent to the whole process group by a terminal
    # or a scheduler): it stops between chunks and closes its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    fingerprint_of = fingerprinter(model, symmetry)
    known = FingerprintSet()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if message[0] == "known":
            known.update(array("Q", message[1]))
        elif message[0] == "expand":
            _, chunk, start, encodings = message
            try:
                generated, results, goals = expand_chunk(model, fingerprint_of, known, start,
                                                         encodings)
            except Exception:  # a bug in the search itself: show its traceback in the parent
                conn.send((chunk, -1, traceback.format_exc(), set()))
                continue
            conn.send((chunk, generated, results, goals))
        else:
            conn.close()
            return


MAX_WORKERS = 64  # processes one run may start: more only thrash a machine


def check_workers(workers: int) -> None:
    """The one rule for `--workers`, for every engine that starts processes."""
    if workers < 1:
        raise UsageError("--workers must be at least 1")
    if workers > MAX_WORKERS:
        raise UsageError(f"--workers must be at most {MAX_WORKERS}, got {workers}")


def process_context() -> Any:
    """How the engines start worker processes: fork where the platform has it (workers
    inherit the model, which need not pickle, and start in milliseconds), spawn elsewhere."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


class Workers:
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
            self._send(connection, ("known", data))

    def _send(self, connection: Connection, message: tuple[Any, ...]) -> None:
        try:
            connection.send(message)
        except OSError:  # BrokenPipeError: the worker is gone
            raise WorkerLost(self._lost(connection)) from None

    def expand(self, frontier: StateQueue, start: int) -> Iterator[Chunk]:
        """(generated, results, goals, next position) per chunk of frontier[start:], in
        frontier order whatever order the workers finish in."""
        size = chunk_size(len(frontier) - start, len(self.connections))
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
                    self._send(connection, ("expand", number, position,
                                            frontier.read(position, position + size)))
                    busy[connection] = number
                    next_chunk += 1
            for ready in wait(list(busy)):
                assert isinstance(ready, Connection)
                try:
                    number, generated, results, goals = ready.recv()
                except (EOFError, OSError):
                    raise WorkerLost(self._lost(ready)) from None
                if generated < 0:
                    raise RuntimeError(f"a worker failed while expanding states:\n{results}")
                del busy[ready]
                pending[number] = (generated, results, goals)
            while to_yield in pending:
                generated, results, goals = pending.pop(to_yield)
                end = min(chunks[to_yield][1] + size, len(frontier))
                to_yield += 1
                yield generated, results, goals, end

    def _lost(self, connection: Connection) -> str:
        process = self.processes[self.connections.index(connection)]
        process.join(timeout=1)
        code = process.exitcode
        how = ("is still running" if code is None else
               f"was killed by signal {-code}" if code < 0 else f"exited with status {code}")
        return f"worker process {process.pid} {how} while expanding states"

    def close(self) -> None:
        for connection, process in zip(self.connections, self.processes, strict=True):
            with contextlib.suppress(OSError):
                connection.send(("stop",))
            connection.close()
            process.join(timeout=1)
            if process.is_alive():
                process.terminate()
                process.join()


def make_pool(model: AnyModel, symmetry: bool, workers: int, ray: str | None) -> Pool:
    """`workers` forked processes on this machine, or, given a Ray address, `workers` Ray
    actors (Ray is imported only then)."""
    if ray is None:
        return Workers(model, symmetry, workers)
    from raftcheck.model.search.ray_pool import RayWorkers

    return RayWorkers(model, symmetry, workers, ray)
