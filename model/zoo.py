"""The bug zoo's catalogue: every fact about each broken core in `impl.broken`, once.

`impl/broken.py` tells each bug's story (what is wrong, where the mistake is known from, why
it breaks safety); this record holds the facts the engines, the tests and the docs read:

* where the exhaustive engine finds it: the smallest bounds under which BFS reaches a
  violation (so its search stays short), the cluster size, the property its shortest
  counterexample breaks and that counterexample's length;
* where the Hypothesis engine finds it: a pinned seed and example budget on the fuzzing
  bounds (`FUZZ_BOUNDS`), under which the engine catches it by the same property;
* how `raftcheck prove` models it: the field of `model.prove.encoding.Rules` its rule set
  replaces (None when the encoding cannot express it, `NOT_ENCODED` says why);
* a source and a one-line description, for the generated tables in README.md and
  docs/zoo.md (`python scripts/zoo_tables.py` rewrites them; a test fails when they are
  stale).

These are pins: `tests/zoo/` fails if an engine stops finding a bug, finds a longer shortest
trace, or if a broken core is added without an entry here.

A bound is part of the bug's story: `max_crashes=1` means the bug needs a crash,
`duplicate=True` a duplicated message, `drop=True` a lost one.
"""

from __future__ import annotations

from typing import Any

from attrs import evolve, frozen

from raftcheck.impl.broken import ZOO
from raftcheck.impl.raft import RaftCore
from raftcheck.impl.stalled import LIVENESS_ZOO
from raftcheck.model import presets
from raftcheck.model.world import Bounds

# Faults off unless a bug needs them: each entry turns on only what its trace uses.
_QUIET = presets.SMALL


def _bounds(**changes: Any) -> Bounds:
    return evolve(_QUIET, **changes)


def first_sentence(core: RaftCore) -> str:
    """The first sentence of a core's docstring (its one-line story)."""
    doc = " ".join((type(core).__doc__ or "").split())
    return doc.split(". ")[0].rstrip(".") + "."


@frozen
class Bug:
    """One zoo entry: the broken core and every fact the engines, tests and docs use."""

    core: RaftCore
    description: str  # what is wrong, in one line (the generated tables' "what is wrong")
    source: str  # where the mistake is known from ([paper], [guide], [thesis] in impl.broken)
    bounds: Bounds  # the smallest world (we found) in which BFS reaches a violation
    breaks: str  # the property the shortest counterexample violates (and the fuzzed one)
    shortest: int  # its length in world actions (BFS: no shorter one within `bounds`)
    seed: int  # Hypothesis: a seed that catches it on FUZZ_BOUNDS...
    examples: int  # ...within this many runs (50 more than the first failing run)
    prove_rule: str | None  # the `Rules` field its z3 rule set replaces; None: not encoded
    # further properties the bug breaks later in a run, with that run's length
    # (documentation: not pinned by a test)
    then: tuple[tuple[str, int], ...] = ()
    slow: bool = False  # BFS takes more than a few seconds: not in the default test run
    nodes: int = 3  # cluster size it needs

    @property
    def name(self) -> str:
        return self.core.name

    @property
    def summary(self) -> str:
        return first_sentence(self.core)

    @property
    def needs(self) -> str:
        """The faults its counterexample needs, in words."""
        b = self.bounds
        faults = [name for name, on in (("crash", b.max_crashes), ("drop", b.drop),
                                       ("duplicate", b.duplicate),
                                       ("partition", b.max_partitions)) if on]
        return ", ".join(faults) or "no faults (reordering only)"


# The bounds are those of the shortest run found (its terms, log lengths, messages in
# flight, faults): BFS within them returns a run of exactly `shortest` steps, and none
# shorter exists within them. Each seed's budget is 50 runs more than where the seed first
# fails, so the failing run's batch is always run whole.
_FACTS: dict[str, dict[str, Any]] = {
    "vote-without-up-to-date-check": dict(
        description="votes granted without §5.4.1's check", source="paper §5.4.1",
        bounds=_bounds(max_messages=7), breaks="Leader Completeness", shortest=10,
        seed=1, examples=100, prove_rule="log_is_up_to_date"),
    "up-to-date-by-length-only": dict(
        description="logs compared by length, last term ignored", source="paper §5.4.1",
        bounds=_bounds(max_term=3), breaks="Leader Completeness", shortest=28,
        seed=4, examples=200, prove_rule="log_is_up_to_date"),
    "two-votes-per-term": dict(
        description="`voted_for` ignored", source="paper §5.2",
        bounds=_bounds(max_term=1, max_log=0, max_messages=4), breaks="Single Vote Per Term",
        shortest=3, seed=0, examples=150, prove_rule="may_vote_for",
        then=(("Election Safety", 4),)),
    "voted-for-not-persisted": dict(
        description="the vote is not written to disk", source="paper Fig. 2",
        bounds=_bounds(max_term=1, max_log=0, max_messages=2, max_crashes=1),
        breaks="Single Vote Per Term", shortest=2, seed=0, examples=100,
        prove_rule="on_disk"),
    "current-term-not-persisted": dict(
        description="the term is not written (recovered from the log)", source="paper Fig. 2",
        bounds=_bounds(max_term=1, max_log=0, max_messages=2, max_crashes=1),
        breaks="Term Monotonicity", shortest=2, seed=0, examples=100, prove_rule="on_disk"),
    "commit-previous-term-by-counting": dict(
        description="paper Figure 8: old-term entry committed by counting",
        source="paper §5.4.2", bounds=_bounds(max_term=4), breaks="Leader Completeness",
        shortest=34, seed=4, examples=100, prove_rule="may_commit", slow=True),
    "truncate-on-stale-append": dict(
        description="log truncated after prev_log_index, conflict or not (needs a "
                    "reordered request)", source="guide; paper §5.3",
        bounds=_bounds(max_term=1, max_messages=6), breaks="Committed Entries Kept",
        shortest=10, seed=0, examples=100, prove_rule="merge_replaces",
        then=(("State Machine Safety", 10),)),
    "append-without-consistency-check": dict(
        description="no prev_log_index/prev_log_term check", source="paper §5.3",
        bounds=_bounds(max_term=3), breaks="Commit Within Log", shortest=24,
        seed=1, examples=100, prove_rule="log_matches"),
    "commit-to-leader-commit": dict(
        description="follower commit_index = leader_commit, not min(·, last new) (needs "
                    "batched AppendEntries)", source="paper Fig. 2; guide",
        bounds=_bounds(max_term=1, max_log=2, values=2, max_messages=7),
        breaks="Commit Within Log", shortest=13, seed=0, examples=200,
        prove_rule="follower_commit_index", slow=True),
    "match-index-from-leader-log": dict(
        description="matchIndex from the leader's own log length", source="guide; paper Fig. 2",
        bounds=_bounds(max_messages=5), breaks="Leader Completeness", shortest=9,
        seed=0, examples=100, prove_rule="matched_index"),
    "ack-beyond-request": dict(
        description="follower acknowledges its whole log, not what the request checked",
        source="paper §5.3; etcd", bounds=_bounds(max_term=3), breaks="Leader Completeness",
        shortest=23, seed=0, examples=100, prove_rule="acknowledged_index"),
    "accept-stale-term-append": dict(
        description="AppendEntries with term < currentTerm accepted", source="paper §5.1",
        bounds=_bounds(max_messages=10), breaks="Committed Entries Kept", shortest=13,
        seed=2, examples=250, prove_rule="is_stale", slow=True,
        then=(("State Machine Safety", 14),)),
    "act-on-stale-responses": dict(
        description="no stale-response check (either response kind)",
        source="guide; paper §5.1", bounds=_bounds(max_log=0, max_messages=5),
        breaks="Elected By Majority", shortest=4, seed=0, examples=100,
        prove_rule="is_stale", then=(("Election Safety", 7),)),
    "no-step-down-on-higher-term": dict(
        description="higher term adopted, role kept", source="paper §5.1",
        bounds=_bounds(max_log=0, max_messages=5), breaks="Elected By Majority", shortest=5,
        seed=0, examples=100, prove_rule="on_higher_term", then=(("Election Safety", 6),)),
    "count-duplicate-votes": dict(
        description="votes tallied per response, not per voter (4 servers)",
        source="paper §5.2; etcd",
        bounds=_bounds(max_term=1, max_log=0, max_messages=5, duplicate=True),
        breaks="Elected By Majority", shortest=5, seed=0, examples=100, prove_rule=None,
        then=(("Election Safety", 16),), nodes=4),
    "quorum-off-by-one": dict(
        description="`n // 2` as a majority", source="paper §5.2",
        bounds=_bounds(max_term=1, max_log=0, max_messages=2), breaks="Elected By Majority",
        shortest=1, seed=0, examples=100, prove_rule="quorum",
        then=(("Election Safety", 2),)),
}

BUGS: dict[str, Bug] = {
    core.name: Bug(core, **_FACTS[core.name]) for core in ZOO if core.name in _FACTS
}
"""Every zoo bug, in `impl.broken.ZOO` order."""


# ------------------------------------------------------------------------------ liveness


@frozen
class LivenessBug:
    """One liveness zoo entry (`impl.stalled`): a core that stays safe but stops making
    progress, the pinned run of the Hypothesis engine in the timed world, with the
    progress properties (`--timed --liveness`), that catches it, and what the exhaustive
    lasso search of the untimed world (`explore --liveness`) finds."""

    core: RaftCore
    description: str  # what is wrong, in one line
    source: str  # where the rule is from ([paper], [guide] in impl.stalled)
    breaks: str  # the progress property the pinned run violates
    seed: int  # the fuzzing seed, which also seeds the timed world's timeouts...
    examples: int  # ...and a budget of runs that catches it (50 more than the first failing)
    # the fair properties the lasso search reports within `LASSO_BOUNDS`, in the order it
    # reports them; () when it finds no lasso there (the bug needs a timeout or an
    # unbounded number of messages, which no lasso has: docs/liveness.md)
    lassos: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.core.name

    @property
    def summary(self) -> str:
        return first_sentence(self.core)


# The bounds the lasso search hunts the liveness zoo within: explore's defaults with three
# messages in flight, where every lasso below is found in about a second.
LASSO_BOUNDS = presets.SMALL

_LIVENESS_FACTS: dict[str, dict[str, Any]] = {
    "no-idle-heartbeats": dict(
        description="no heartbeats when idle", source="paper Fig. 2, §5.2",
        breaks="Leader Stable", seed=0, examples=51, lassos=("Follower Caught Up",)),
    "empty-heartbeats": dict(
        description="heartbeats carry no entries", source="guide",
        breaks="Request Applied", seed=0, examples=51,
        lassos=("Entry Committed", "Follower Caught Up")),
    "never-decrement-next-index": dict(
        description="nextIndex not decremented after a rejection", source="paper §5.3",
        breaks="Request Applied", seed=0, examples=65),
    "ignore-leader-commit": dict(
        description="followers ignore leaderCommit (AppendEntries rule 5)",
        source="paper Fig. 2", breaks="Request Applied", seed=0, examples=51,
        lassos=("Follower Caught Up",)),
    "strictly-more-up-to-date": dict(
        description="votes only for strictly more up-to-date logs", source="paper §5.4.1",
        breaks="Leader Elected", seed=0, examples=51),
    "step-down-on-rejected-append": dict(
        description="leader steps down on any rejected AppendEntries",
        source="paper Fig. 2, §5.3", breaks="Leader Elected", seed=0, examples=65),
    "candidate-waits-forever": dict(
        description="a candidate never starts another election", source="paper §5.2",
        breaks="Leader Elected", seed=0, examples=53),
}

LIVENESS_BUGS: dict[str, LivenessBug] = {
    core.name: LivenessBug(core, **_LIVENESS_FACTS[core.name]) for core in LIVENESS_ZOO
    if core.name in _LIVENESS_FACTS
}
"""Every liveness zoo bug, in `impl.stalled.LIVENESS_ZOO` order."""
