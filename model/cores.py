"""Finding a core by name: the bundled one, a deliberately broken one, or `module:object`."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
import zlib
from pathlib import Path
from types import ModuleType

from raftcheck.impl.broken import BROKEN_CORES
from raftcheck.impl.pysyncobj import FAITHFUL_CORES
from raftcheck.impl.raft import CORE
from raftcheck.impl.raftos import FAITHFUL_CORES as RAFTOS_CORES
from raftcheck.impl.stalled import STALLED_CORES
from raftcheck.model.world import Core

BUNDLED: dict[str, Core] = {CORE.name: CORE, **BROKEN_CORES, **STALLED_CORES,
                            **FAITHFUL_CORES, **RAFTOS_CORES}


class CoreLoadError(Exception):
    """The core named on the command line cannot be used; the message says why, in one line."""


ENV_VAR = "RAFTCHECK_CORE"  # the core the test suite's core-agnostic tests run against


def trusted_spec(spec: str) -> bool:
    """Whether `spec` names code of this package (a bundled core's name, or an object of a
    `raftcheck.` module): the only cores a file may name without the user's say-so. Anything
    else would make loading the file import, and so run, code that came with it."""
    if spec in BUNDLED:
        return True
    module = spec.rpartition(":")[0]
    return module.startswith("raftcheck.") and not module.endswith(".py")


def load_core(spec: str) -> Core:
    """`raft`, a broken core's name (see `raftcheck fuzz --list-cores`), `module:object`, or
    `path/to/file.py:object`, naming an object (or a class, instantiated without arguments)
    with a string `name` and callable `initial_node`, `restart` and `step` of the right arity.

    The current directory is importable, as with `python -m`, so `--core mycore:CORE` finds
    ./mycore.py from the `raftcheck` script too."""
    if spec in BUNDLED:
        return BUNDLED[spec]
    if ":" not in spec:
        known = ", ".join(sorted(BUNDLED))
        raise CoreLoadError(f"unknown core {spec!r}: use one of {known}, module:object or "
                            "path/to/file.py:object")
    module_name, _, attr = spec.rpartition(":")
    if not module_name or not attr:
        raise CoreLoadError(f"core spec {spec!r} must be module:object or path.py:object")
    try:
        module = _import(module_name)
    except CoreLoadError:
        raise
    except BaseException as error:  # any import-time failure of user code is a load error
        if isinstance(error, KeyboardInterrupt):
            raise
        text = (str(error).splitlines() or [""])[0]
        raise CoreLoadError(f"cannot import core module {module_name!r}: "
                            f"{type(error).__name__}: {text}") from None
    try:
        core = getattr(module, attr)
    except AttributeError:
        raise CoreLoadError(f"module {module_name!r} has no attribute {attr!r}") from None
    if isinstance(core, type):  # `module:ClassName`: use an instance of it
        try:
            core = core()
        except Exception as error:
            raise CoreLoadError(f"cannot instantiate core class {spec!r}: {error}") from None
    problem = protocol_problem(core)
    if problem is not None:
        raise CoreLoadError(f"core {spec!r} does not satisfy the core protocol: {problem}")
    return core  # type: ignore[no-any-return]  # checked structurally above


# The protocol's methods and the arguments each is called with (model.world.Core).
SIGNATURES = {"initial_node": ("node_id", "cluster_size"),
              "restart": ("node_id", "cluster_size", "persistent"),
              "step": ("node", "event")}


def protocol_problem(core: object) -> str | None:
    """Why `core` cannot be a core (one line), or None: a missing or non-string `name`, a
    missing method, or a method that cannot take the arguments the world passes."""
    try:
        name = getattr(core, "name", None)
    except Exception as error:
        return f"reading 'name' raised {type(error).__name__}: {error}"
    if not isinstance(name, str) or not name:
        return "no string attribute 'name'"
    missing = [method for method in SIGNATURES if not callable(getattr(core, method, None))]
    if missing:
        return f"missing callable {', '.join(missing)} (needs {', '.join(SIGNATURES)})"
    for method, params in SIGNATURES.items():
        try:
            signature = inspect.signature(getattr(core, method))
        except (TypeError, ValueError):  # builtins without a signature: trust them
            continue
        try:
            signature.bind(*params)
        except TypeError:
            return f"{method}{signature} cannot be called as {method}({', '.join(params)})"
    return None


def _import(module_name: str) -> ModuleType:
    """A module by dotted name, or by file path (`x/y.py`), with the current directory
    importable."""
    if module_name.endswith(".py") or "/" in module_name or os.sep in module_name:
        path = Path(module_name)
        if not path.is_file():
            raise CoreLoadError(f"no such core file: {module_name}")
        unique = f"raftcheck_core_{path.stem}_{zlib.crc32(str(path.resolve()).encode()):08x}"
        if unique in sys.modules:
            return sys.modules[unique]
        spec = importlib.util.spec_from_file_location(unique, path)
        if spec is None or spec.loader is None:
            raise CoreLoadError(f"cannot load {module_name} as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[unique] = module  # so that the core's classes pickle (worker processes)
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[unique]
            raise
        return module
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.append(cwd)
    return importlib.import_module(module_name)
