"""The bug zoo's catalogue: for each broken core in `impl.broken`, the world it needs.

`impl/broken.py` says *what* each bug is; this says where the engines find it: the smallest
bounds under which the exhaustive engine reaches a violation (so its search stays short), the
property its shortest counterexample breaks and that counterexample's length. These are pins:
`tests/zoo/` fails if an engine stops finding a bug, finds a longer shortest trace, or if a
broken core is added without an entry here.

A bound is part of the bug's story: `max_crashes=1` means the bug needs a crash,
`duplicate=True` a duplicated message, `drop=True` a lost one.
"""

from __future__ import annotations

from typing import Any

from attrs import evolve, frozen

from raftcheck.impl.broken import ZOO
from raftcheck.impl.raft import RaftCore
from raftcheck.model.world import Bounds

# Faults off unless a bug needs them: each entry turns on only what its trace uses.
_QUIET = Bounds(max_term=2, max_log=1, values=1, max_messages=3, max_crashes=0,
                max_partitions=0, drop=False, duplicate=False)


def _bounds(**changes: Any) -> Bounds:
    return evolve(_QUIET, **changes)


@frozen
class Bug:
    """One zoo entry: the broken core and where the exhaustive engine finds it."""

    core: RaftCore
    bounds: Bounds  # the smallest world (we found) in which BFS reaches a violation
    breaks: str  # the property the shortest counterexample violates
    shortest: int  # its length in world actions (BFS: no shorter one within `bounds`)
    slow: bool = False  # BFS takes more than a few seconds: not in the default test run
    nodes: int = 3  # cluster size it needs

    @property
    def name(self) -> str:
        return self.core.name

    @property
    def summary(self) -> str:
        """The first sentence of the core's docstring."""
        doc = " ".join((type(self.core).__doc__ or "").split())
        return doc.split(". ")[0].rstrip(".") + "."

    @property
    def needs(self) -> str:
        """The faults its counterexample needs, in words."""
        b = self.bounds
        faults = [name for name, on in (("crash", b.max_crashes), ("drop", b.drop),
                                        ("duplicate", b.duplicate),
                                        ("partition", b.max_partitions)) if on]
        return ", ".join(faults) or "no faults (reordering only)"


# bug -> (bounds, property, shortest length, slow?, nodes). The bounds are those of the
# shortest run found (its terms, log lengths, messages in flight, faults): BFS within them
# returns a run of exactly `shortest` steps, and none shorter exists within them.
_CATALOGUE: dict[str, tuple[Any, ...]] = {
    "vote-without-up-to-date-check": (_bounds(max_messages=7), "Leader Completeness",
                                      10, False),
    "up-to-date-by-length-only": (_bounds(max_term=3), "Leader Completeness", 28, False),
    "two-votes-per-term": (_bounds(max_term=1, max_log=0, max_messages=4),
                           "Single Vote Per Term", 3, False),
    "voted-for-not-persisted": (_bounds(max_term=1, max_log=0, max_messages=2, max_crashes=1),
                                "Single Vote Per Term", 2, False),
    "current-term-not-persisted": (_bounds(max_term=1, max_log=0, max_messages=2,
                                           max_crashes=1), "Term Monotonicity", 2, False),
    "commit-previous-term-by-counting": (_bounds(max_term=4), "Leader Completeness", 34,
                                         True),
    "truncate-on-stale-append": (_bounds(max_term=1, max_messages=6), "Committed Entries Kept",
                                 10, False),
    "append-without-consistency-check": (_bounds(max_term=3), "Commit Within Log", 24, False),
    "commit-to-leader-commit": (_bounds(max_term=1, max_log=2, values=2, max_messages=7),
                                "Commit Within Log", 13, True),
    "match-index-from-leader-log": (_bounds(max_messages=5), "Leader Completeness", 9, False),
    "ack-beyond-request": (_bounds(max_term=3), "Leader Completeness", 23, False),
    "accept-stale-term-append": (_bounds(max_messages=10), "Committed Entries Kept", 13, True),
    "act-on-stale-responses": (_bounds(max_log=0, max_messages=5), "Elected By Majority", 4,
                               False),
    "no-step-down-on-higher-term": (_bounds(max_log=0, max_messages=5), "Elected By Majority",
                                    5, False),
    "count-duplicate-votes": (_bounds(max_term=1, max_log=0, max_messages=5, duplicate=True),
                              "Elected By Majority", 5, False, 4),
    "quorum-off-by-one": (_bounds(max_term=1, max_log=0, max_messages=2), "Elected By Majority",
                          1, False),
}

BUGS: dict[str, Bug] = {
    core.name: Bug(core, *_CATALOGUE[core.name]) for core in ZOO if core.name in _CATALOGUE
}
"""Every zoo bug, in `impl.broken.ZOO` order."""
