"""raftcheck: property-based model checking for the Raft consensus protocol.

One import name. The three layers live in the repository's top-level folders and are installed
under this package: `raftcheck.impl` (the Raft core under test), `raftcheck.model` (the world
and the engines that explore it) and `raftcheck.properties` (what must hold).

This module is the public API. Names are loaded on first use, so `import raftcheck.impl`
stays as light as the core itself (no Hypothesis, no z3):

    from raftcheck import Model, Config, Bounds, CORE, fuzz, explore, diff

    result = fuzz(Model(CORE, Config(), Bounds()), seed=1, examples=200)
    assert result.violation is None, result.trace

    report = check_core(MyCore())   # the checks every core must pass (model.conformance)
    assert report.ok, report.render()

`from raftcheck import *` brings every action and message type, which is what a printed
counterexample's replay snippet uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Public name -> the module defining it (one place; `__getattr__` and `__all__` read it).
_EXPORTS: dict[str, str] = {
    # the core's vocabulary (Figure 2)
    **dict.fromkeys((
        "Role", "Put", "Entry", "Persistent", "Volatile", "CandidateState", "LeaderState",
        "Node", "RequestVote", "RequestVoteResponse", "AppendEntries",
        "AppendEntriesResponse", "Message", "ElectionTimeout", "HeartbeatTimeout",
        "ClientRequest", "ClientReply", "Effects", "Event"), "raftcheck.impl.types"),
    "Core": "raftcheck.impl.core",  # the protocol a core satisfies
    **dict.fromkeys(("CORE", "RaftCore"), "raftcheck.impl.raft"),
    # the world: the Raft model, its configuration, bounds and actions
    **dict.fromkeys((
        "Model", "Config", "Bounds", "World", "CoreFault", "Action", "Deliver", "Drop",
        "Duplicate", "Timeout", "Heartbeat", "Submit", "Crash", "Restart", "Partition", "Heal",
        "Tick"), "raftcheck.model.world"),
    # the seam every engine takes, and the properties a model carries
    **dict.fromkeys(("Property", "Properties", "RAFT_PROPERTIES", "LIVENESS", "LIVENESS_TIMED",
                     "LIVENESS_UNTIMED", "ALL_PROPERTIES", "Violation", "with_liveness"),
                    "raftcheck.properties"),
    "Verdict": "raftcheck.model.verdict",
    "Lockstep": "raftcheck.model.lockstep",
    # the engines
    "fuzz": "raftcheck.model.fuzz",
    "explore": "raftcheck.model.explore",
    **dict.fromkeys(("lasso_search", "check_lasso"), "raftcheck.model.search.lasso"),
    "diff": "raftcheck.model.diff",
    "load_core": "raftcheck.model.cores",
    # the checks every core must pass, on any core
    **dict.fromkeys(("check_core", "ConformanceReport", "ConformanceCheck"),
                    "raftcheck.model.conformance"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'raftcheck' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # what the lazy names are, for type checkers
    from raftcheck.impl.core import Core as Core
    from raftcheck.impl.raft import CORE as CORE, RaftCore as RaftCore
    from raftcheck.impl.types import (
        AppendEntries as AppendEntries,
        AppendEntriesResponse as AppendEntriesResponse,
        CandidateState as CandidateState,
        ClientReply as ClientReply,
        ClientRequest as ClientRequest,
        Effects as Effects,
        ElectionTimeout as ElectionTimeout,
        Entry as Entry,
        Event as Event,
        HeartbeatTimeout as HeartbeatTimeout,
        LeaderState as LeaderState,
        Message as Message,
        Node as Node,
        Persistent as Persistent,
        Put as Put,
        RequestVote as RequestVote,
        RequestVoteResponse as RequestVoteResponse,
        Role as Role,
        Volatile as Volatile,
    )
    from raftcheck.model.conformance import (
        ConformanceCheck as ConformanceCheck,
        ConformanceReport as ConformanceReport,
        check_core as check_core,
    )
    from raftcheck.model.cores import load_core as load_core
    from raftcheck.model.diff import diff as diff
    from raftcheck.model.explore import explore as explore
    from raftcheck.model.fuzz import fuzz as fuzz
    from raftcheck.model.lockstep import Lockstep as Lockstep
    from raftcheck.model.search.lasso import (
        check_lasso as check_lasso,
        lasso_search as lasso_search,
    )
    from raftcheck.model.verdict import Verdict as Verdict
    from raftcheck.model.world import (
        Action as Action,
        Bounds as Bounds,
        Config as Config,
        CoreFault as CoreFault,
        Crash as Crash,
        Deliver as Deliver,
        Drop as Drop,
        Duplicate as Duplicate,
        Heal as Heal,
        Heartbeat as Heartbeat,
        Model as Model,
        Partition as Partition,
        Restart as Restart,
        Submit as Submit,
        Tick as Tick,
        Timeout as Timeout,
        World as World,
    )
    from raftcheck.properties import (
        ALL_PROPERTIES as ALL_PROPERTIES,
        LIVENESS as LIVENESS,
        LIVENESS_TIMED as LIVENESS_TIMED,
        LIVENESS_UNTIMED as LIVENESS_UNTIMED,
        RAFT_PROPERTIES as RAFT_PROPERTIES,
        Properties as Properties,
        Property as Property,
        Violation as Violation,
        with_liveness as with_liveness,
    )
