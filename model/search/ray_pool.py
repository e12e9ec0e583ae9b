"""Ray (`--ray ADDRESS`): the connection a run makes (`RaySession`, shared with the
Hypothesis engine's batches in model/fuzz.py) and `RayWorkers`, the BFS pool whose workers
are Ray actors, behind the same interface as the forked `Workers` (model/search/pool.py).

Ray is imported here only, and only when a run asks for it: without Ray installed `--ray`
is a one-line usage error. The address is Ray's own: `local` starts a private Ray on this
machine with one CPU per worker, `auto` joins the cluster this machine is part of (started
by `ray start`, or named by RAY_ADDRESS), `HOST:PORT` a cluster's head node, and
`ray://HOST:PORT` a cluster through Ray Client (the head's port 10001 unless it was started
with another)."""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import os
import re
import signal
import socket
import sys
import threading
import warnings
from array import array
from collections.abc import Iterator
from typing import Any

from raftcheck.model.seam import AnyModel
from raftcheck.model.search.common import (
    Chunk,
    Result,
    WorkerLost,
    chunk_size,
    expand_chunk,
    fingerprinter,
)
from raftcheck.model.search.store import FingerprintSet, StateQueue
from raftcheck.model.verdict import UsageError

ADDRESS = re.compile(r"local|auto|(ray://)?[^\s:/]+:\d+")
IN_FLIGHT = 2  # chunks queued per actor, so that none waits for the parent between chunks
START_TIMEOUT = 120.0  # seconds for every actor to be placed and answer
PROBE_TIMEOUT = 10.0  # seconds to reach a cluster's address at all


def check_address(address: str) -> None:
    """`--ray`'s one rule, checked before Ray is imported."""
    if not ADDRESS.fullmatch(address):
        raise UsageError(f"--ray takes local, auto, HOST:PORT or ray://HOST:PORT, "
                         f"got {address!r}")


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError("--ray needs Ray: pip install 'raftcheck[ray]'") from None
    return ray


def ship_by_value(model: AnyModel) -> None:
    """Let the model's core travel to the cluster by value when its module is not part of
    raftcheck (a `--core path.py:NAME` file, or a module of the current directory): Ray's
    workers can import raftcheck, but not a file that exists only on this machine."""
    from ray import cloudpickle

    name = type(getattr(model, "core", None)).__module__
    module = sys.modules.get(name)
    if module is not None and name not in ("builtins", "raftcheck") \
            and not name.startswith("raftcheck."):
        cloudpickle.register_pickle_by_value(module)


def put_model(ray: Any, model: AnyModel) -> Any:
    """The model in Ray's object store, once for every worker (a reference to it). Pickled
    here, by `ship_by_value`'s rules, so that a core that cannot be pickled is a one-line
    error before any worker starts, whether Ray runs here or behind Ray Client; `load_model`
    is the other end."""
    from ray import cloudpickle

    ship_by_value(model)
    try:
        data = cloudpickle.dumps(model)
    except Exception as error:  # a core that holds a lock, a socket, ...
        raise UsageError(f"the core {model.name} cannot be sent to Ray's workers: "
                         f"{_first_line(error)}") from None
    return ray.put(data)


def load_model(data: bytes) -> AnyModel:
    """A worker's copy of the model `put_model` sent."""
    from ray import cloudpickle

    model: AnyModel = cloudpickle.loads(data)
    return model


class RaySession:
    """This run's connection to Ray: joins the session this process already has (a script
    that called `ray.init` itself), or starts one and shuts it down on `close`. Ray's driver
    takes over SIGTERM (it exits at once); the handlers in force before are put back, so
    Ctrl-C and SIGTERM still stop a search cleanly (model.search.common.Interrupt)."""

    def __init__(self, address: str, workers: int) -> None:
        check_address(address)
        _probe(address)
        self.address = address
        self.started = False
        with local_environment() if address == "local" else contextlib.nullcontext():
            self.ray = ray = import_ray()
            if not ray.is_initialized():
                self._start(address, workers)
        cpus = int(ray.cluster_resources().get("CPU", 0))
        if cpus < workers:
            self.close()
            raise UsageError(f"the Ray cluster at {address} has {cpus} CPUs, fewer than "
                             f"--workers {workers} (each worker takes one)")

    def _start(self, address: str, workers: int) -> None:
        options: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
        if address == "local":
            options.update(num_cpus=workers, include_dashboard=False)
        with _signal_handlers_kept(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Ray warns, then raises: the error is ours
            try:
                self.ray.init(address=address, **options)
            except ConnectionError as error:
                if address == "auto":  # Ray's message names its own flags, not ours
                    raise UsageError("--ray auto: no Ray cluster runs on this machine (start "
                                     "one with `ray start --head`, or use --ray local)"
                                     ) from None
                raise UsageError(f"cannot connect to Ray at {address}: "
                                 f"{_first_line(error)}") from None
            except Exception as error:  # Ray raises many types for a cluster not there
                raise UsageError(f"cannot connect to Ray at {address}: "
                                 f"{_first_line(error)}") from None
        self.started = True

    def close(self) -> None:
        if self.started:
            self.started = False
            with _signal_handlers_kept():
                self.ray.shutdown()


# A private Ray (`local`) listens on 127.0.0.1 only, as Ray does on macOS and Windows, and
# sends no usage statistics.
LOCAL_ENVIRONMENT = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}


@contextlib.contextmanager
def local_environment() -> Iterator[None]:
    """`LOCAL_ENVIRONMENT` while Ray is imported and a private Ray started (Ray reads the
    first variable when it is imported, and so do the processes it starts: a process that
    imported Ray before gets Ray's default, every address of the machine); a variable the
    user set is kept."""
    added = [name for name in LOCAL_ENVIRONMENT if name not in os.environ]
    os.environ.update({name: LOCAL_ENVIRONMENT[name] for name in added})
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def _probe(address: str) -> None:
    """Refuse an address nothing listens at, in seconds: Ray itself retries a head node it
    cannot reach for minutes (a Ray Client address for 30 s)."""
    if address in ("local", "auto"):
        return
    host, _, port = address.removeprefix("ray://").partition(":")
    try:
        socket.create_connection((host, int(port)), timeout=PROBE_TIMEOUT).close()
    except OSError as error:
        raise UsageError(f"cannot connect to Ray at {address}: "
                         f"{error.strerror or type(error).__name__}") from None


@contextlib.contextmanager
def _signal_handlers_kept() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    kept = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in kept.items():
            signal.signal(signum, handler)


class Expander:
    """A BFS worker as a Ray actor: the model and every fingerprint it has reported or been
    told about, expanding chunks of encoded states (`pool.expand_chunk`, as a forked worker
    does)."""

    def __init__(self, data: bytes, symmetry: bool) -> None:
        self.model = model = load_model(data)
        self.fingerprint_of = fingerprinter(model, symmetry)
        self.known = FingerprintSet()

    def hello(self) -> tuple[str, int]:
        """Which raftcheck this worker runs, and its fingerprint of the initial state: they
        must be the parent's, or the counts would silently differ."""
        return _version(), self.fingerprint_of(self.model.initial_state())

    def know(self, data: bytes) -> None:
        self.known.update(array("Q", data))

    def expand(self, start: int, encodings: list[Any]) -> tuple[int, list[Result], set[str]]:
        return expand_chunk(self.model, self.fingerprint_of, self.known, start, encodings)


def _version() -> str:
    try:
        return importlib.metadata.version("raftcheck")
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"


class RayWorkers:
    """`count` Ray actors of one CPU each, fed chunks of a level (`IN_FLIGHT` queued per
    actor); results come back in frontier order, as from the forked `Workers`."""

    def __init__(self, model: AnyModel, symmetry: bool, count: int, address: str) -> None:
        self.session = RaySession(address, count)
        ray = self.ray = self.session.ray
        try:
            shared = put_model(ray, model)
            actor = ray.remote(num_cpus=1)(Expander)
            self.actors = [actor.remote(shared, symmetry) for _ in range(count)]
            self.told: list[Any] = []
            self._check_workers(model, symmetry, address)
        except BaseException:
            self.session.close()
            raise

    def _check_workers(self, model: AnyModel, symmetry: bool, address: str) -> None:
        ray = self.ray
        refs = [actor.hello.remote() for actor in self.actors]
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=START_TIMEOUT)
        if len(ready) < len(refs):
            raise UsageError(f"only {len(ready)} of {len(refs)} Ray workers started within "
                             f"{START_TIMEOUT:.0f} s at {address}: is the cluster busy?")
        expected = fingerprinter(model, symmetry)(model.initial_state())
        try:
            answers = ray.get(ready)
        except ray.exceptions.RayError as error:
            raise UsageError(f"the Ray workers cannot run this model: {_first_line(error)}"
                             ) from None
        for version, fingerprint in answers:
            if fingerprint != expected:
                raise UsageError(f"a Ray worker (raftcheck {version}) fingerprints states "
                                 f"differently from this raftcheck ({_version()}): install "
                                 "the same raftcheck on the cluster")

    def tell_known(self, fps: array[int]) -> None:
        data = self.ray.put(fps.tobytes())  # sent once, shared by every actor
        self.told += [actor.know.remote(data) for actor in self.actors]

    def expand(self, frontier: StateQueue, start: int) -> Iterator[Chunk]:
        """(generated, results, goals, next position) per chunk of frontier[start:], in
        frontier order whatever order the actors finish in. An actor runs its calls in the
        order they were made, so it knows a level's fingerprints before the next level."""
        ray = self.ray
        size = chunk_size(len(frontier) - start, len(self.actors))
        positions = range(start, len(frontier), size)
        running: dict[Any, tuple[int, Any]] = {}  # reference -> (chunk number, actor)
        queued = dict.fromkeys(range(len(self.actors)), 0)
        pending: dict[int, tuple[int, list[Result], set[str]]] = {}
        next_chunk = to_yield = 0
        while to_yield < len(positions):
            for number, actor in enumerate(self.actors):
                while queued[number] < IN_FLIGHT and next_chunk < len(positions):
                    position = positions[next_chunk]
                    reference = actor.expand.remote(
                        position, frontier.read(position, position + size))
                    running[reference] = (next_chunk, number)
                    queued[number] += 1
                    next_chunk += 1
            if self.told:
                self._get(self.told)
                self.told = []
            done, _ = ray.wait(list(running), num_returns=1)
            for reference in done:
                number, actor_number = running.pop(reference)
                queued[actor_number] -= 1
                pending[number] = self._get(reference)
            while to_yield in pending:
                generated, results, goals = pending.pop(to_yield)
                end = min(positions[to_yield] + size, len(frontier))
                to_yield += 1
                yield generated, results, goals, end

    def _get(self, references: Any) -> Any:
        try:
            return self.ray.get(references)
        except self.ray.exceptions.RayError as error:
            raise WorkerLost(f"a Ray worker failed while expanding states:\n{error}"
                             ) from None

    def close(self) -> None:
        for actor in self.actors:
            with contextlib.suppress(Exception):
                self.ray.kill(actor)
        self.session.close()


def _first_line(error: BaseException) -> str:
    """The line that says what went wrong: the exception a worker's traceback ends in (Ray
    wraps it in lines about the actor), else the first line; without terminal colours."""
    lines = [line.strip() for line in re.sub(r"\x1b\[[0-9;]*m", "", str(error)).splitlines()
             if line.strip()]
    raised = [line for line in lines if re.match(r"[A-Za-z_.]*(Error|Exception): ", line)]
    return (raised or lines or [type(error).__name__])[-1 if raised else 0]
