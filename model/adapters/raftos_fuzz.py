"""The Hypothesis engine against raftos: `raftcheck fuzz --core raftos`.

raftos as a `library_fuzz.Library`: its cluster (`raftos_adapter.Cluster`), its record format
and its message kinds. The machine, shrinking, records, replay and the deep run are the
engine's (`library_fuzz`), shared with PySyncObj; conformance follows each run with the
faithful core (`raftos_conformance`, `--conformance`).
`python -m raftcheck.model.adapters.raftos_fuzz --minutes 15` is the deep run (docs/raftos.md).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from raftcheck.impl.raftos import FAITHFUL_CORES
from raftcheck.model.adapters import library_fuzz
from raftcheck.model.adapters.library_conformance import divergence
from raftcheck.model.adapters.library_fuzz import (
    DEFAULT_FAULTS,
    NOTHING_IGNORED,
    Conformance,
    Faults,
    FuzzResult,
    Library,
)
from raftcheck.model.adapters.raftos_adapter import (
    LIBRARY_VERSION,
    Cluster,
    ClusterConfig,
    describe_action,
)
from raftcheck.model.adapters.raftos_conformance import Tracker, faithful_core
from raftcheck.model.adapters.sim import Ordering
from raftcheck.model.tracefile import RAFTOS_FORMAT

RAFTOS = library_fuzz.register(Library(
    name="raftos", version=LIBRARY_VERSION, format=RAFTOS_FORMAT, config_type=ClusterConfig,
    cluster=Cluster, describe_action=describe_action,
    # raftos has no client messages: a client talks to the node it calls.
    families=(frozenset({"request_vote", "request_vote_response"}),
              frozenset({"append_entries", "append_entries_response"}),
              frozenset()),
    conformance=Conformance(tracker=Tracker, divergence=divergence, core_for=faithful_core,
                            cores=FAITHFUL_CORES)))


def fuzz(*, nodes: int = 3, ordering: Ordering = "any", faults: Faults = DEFAULT_FAULTS,
         seed: int = 0, profile: str = "ci", examples: int | None = None,
         seconds: float | None = None, steps: int | None = None,
         shrink_seconds: float = 120.0, core: Any = None,
         ignored: frozenset[str] = NOTHING_IGNORED) -> FuzzResult:
    """`library_fuzz.fuzz` on raftos; with `core`, conformance."""
    return library_fuzz.fuzz(RAFTOS, nodes=nodes, ordering=ordering, faults=faults, seed=seed,
                             profile=profile, examples=examples, seconds=seconds, steps=steps,
                             shrink_seconds=shrink_seconds, core=core, ignored=ignored)


def run_cli(args: argparse.Namespace, seed: int) -> int:
    """`raftcheck fuzz --core raftos` (dispatched from model/cli/fuzz.py)."""
    return library_fuzz.run_cli(RAFTOS, args, seed)


def main(argv: Sequence[str] | None = None) -> int:
    """The deep run: an equal share of `--minutes` per fault profile."""
    return library_fuzz.main(RAFTOS, argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
