"""Finding a core by name: the bundled one, a deliberately broken one, or `module:object`."""

from __future__ import annotations

import importlib

from impl.broken import BROKEN_CORES
from impl.raft import CORE
from model.world import Core

BUNDLED: dict[str, Core] = {CORE.name: CORE, **BROKEN_CORES}


class CoreLoadError(Exception):
    """The core named on the command line cannot be used; the message says why, in one line."""


def load_core(spec: str) -> Core:
    """`raft`, a broken core's name (see `raftcheck fuzz --list-cores`), or `module:object`
    naming an object with `name`, `initial_node`, `restart` and `step`."""
    if spec in BUNDLED:
        return BUNDLED[spec]
    if ":" not in spec:
        known = ", ".join(sorted(BUNDLED))
        raise CoreLoadError(f"unknown core {spec!r}: use one of {known}, or module:object")
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # any import-time failure of user code is a load error
        raise CoreLoadError(f"cannot import core module {module_name!r}: {error}") from None
    try:
        core = getattr(module, attr)
    except AttributeError:
        raise CoreLoadError(f"module {module_name!r} has no attribute {attr!r}") from None
    if isinstance(core, type):  # `module:ClassName`: use an instance of it
        try:
            core = core()
        except Exception as error:
            raise CoreLoadError(f"cannot instantiate core class {spec!r}: {error}") from None
    missing = [name for name in ("initial_node", "restart", "step")
               if not callable(getattr(core, name, None))]
    if missing:
        raise CoreLoadError(f"core {spec!r} lacks callable {', '.join(missing)}")
    if not isinstance(getattr(core, "name", None), str):
        raise CoreLoadError(f"core {spec!r} has no string attribute 'name'")
    return core  # type: ignore[no-any-return]  # checked structurally above
