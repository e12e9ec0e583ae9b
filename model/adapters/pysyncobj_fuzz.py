"""The Hypothesis engine against PySyncObj: `raftcheck fuzz --core pysyncobj`.

PySyncObj as a `library_fuzz.Library`: its cluster (`pysyncobj_adapter.Cluster`), its record
format, its message kinds, and its faithful cores for conformance (`pysyncobj_conformance`).
Everything else (the machine, shrinking, records, replay, the deep run) is the engine's,
written once for every library in `library_fuzz`; the names callers use are re-exported here
bound to PySyncObj. `python -m raftcheck.model.adapters.pysyncobj_fuzz --minutes 15` is the
deep run (docs/pysyncobj.md).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from raftcheck.impl.pysyncobj import FAITHFUL_CORES
from raftcheck.model.adapters import library_fuzz
from raftcheck.model.adapters.library_fuzz import (
    ADAPTER_GOALS as ADAPTER_GOALS,
    CHECK_ORDER as CHECK_ORDER,
    DEFAULT_FAULTS,
    FAULT_PROFILES,
    NOTHING_IGNORED,
    Conformance,
    Faults,
    FuzzResult,
    Library,
    Outcome as Outcome,
    Record as Record,
    RecordError as RecordError,
    Step as Step,
    aim as aim,
    check_step as check_step,
    dump_record as dump_record,
    load_record as load_record,
    merge_clocks as merge_clocks,
    render as render,
    replay as replay,
    save_record as save_record,
    shrink as shrink,
)
from raftcheck.model.adapters.pysyncobj_adapter import (
    LIBRARY_VERSION,
    Cluster,
    ClusterConfig,
    Ordering,
    describe_action,
)
from raftcheck.model.adapters.pysyncobj_conformance import (
    Tracker,
    divergence,
    faithful_core,
)
from raftcheck.model.tracefile import PYSYNCOBJ_FORMAT

PYSYNCOBJ = library_fuzz.register(Library(
    name="pysyncobj", version=LIBRARY_VERSION, format=PYSYNCOBJ_FORMAT,
    config_type=ClusterConfig, cluster=Cluster, describe_action=describe_action,
    families=(frozenset({"request_vote", "response_vote"}),
              frozenset({"append_entries", "next_node_idx"}),
              frozenset({"apply_command", "apply_command_response"})),
    indices=" (indices as in the view: library index - 1)",
    conformance=Conformance(tracker=Tracker, divergence=divergence, core_for=faithful_core,
                            cores=FAITHFUL_CORES)))


def fuzz(*, nodes: int = 3, ordering: Ordering = "any", faults: Faults = DEFAULT_FAULTS,
         seed: int = 0, profile: str = "ci", examples: int | None = None,
         seconds: float | None = None, steps: int | None = None,
         shrink_seconds: float = 120.0, core: Any = None,
         ignored: frozenset[str] = NOTHING_IGNORED) -> FuzzResult:
    """`library_fuzz.fuzz` on PySyncObj."""
    return library_fuzz.fuzz(PYSYNCOBJ, nodes=nodes, ordering=ordering, faults=faults,
                             seed=seed, profile=profile, examples=examples, seconds=seconds,
                             steps=steps, shrink_seconds=shrink_seconds, core=core,
                             ignored=ignored)


def run_cli(args: argparse.Namespace, seed: int) -> int:
    """`raftcheck fuzz --core pysyncobj` (dispatched from model/cli/fuzz.py)."""
    return library_fuzz.run_cli(PYSYNCOBJ, args, seed)


def main(argv: Sequence[str] | None = None) -> int:
    """The deep run: an equal share of `--minutes` per fault profile."""
    return library_fuzz.main(PYSYNCOBJ, argv)


__all__ = ["FAULT_PROFILES", "PYSYNCOBJ", "fuzz", "main", "run_cli"]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
