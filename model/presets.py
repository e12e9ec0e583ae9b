"""The named bounds every engine starts from, in one place (each engine's module re-exports
the one it uses under its own name: `explore.DEFAULT_BOUNDS`, `stateful.FUZZ_BOUNDS`, ...).

Every bound is a field of `Bounds` and an option of the command line; these are the defaults
that the options start from and the tests pin state-space sizes against.
"""

from __future__ import annotations

from attrs import evolve, frozen

from raftcheck.model.state import Bounds

# `raftcheck explore` and the main job's exhaustive part: 3 servers, terms up to 2, one
# command, a log of one entry, at most four messages in flight (a candidate's two RequestVotes
# and the replies), no faults. Every reachability goal is reached; docs/exhaustive.md has the
# time and the state count.
EXPLORE = Bounds(max_term=2, max_log=1, values=1, max_messages=4, max_crashes=0,
                 max_partitions=0, drop=False, duplicate=False)

# The same with three messages in flight: small enough for a lockstep pair of cores to be
# searched in seconds (`raftcheck diff`'s exhaustive part), for the conformance checks, and
# the base every zoo entry widens by only what its shortest counterexample uses.
SMALL = evolve(EXPLORE, max_messages=3)

# The Hypothesis engine (`raftcheck fuzz`, and `raftcheck diff`'s random part): generous,
# because random runs explore depth rather than breadth; terms and logs small enough that
# elections and conflicts stay frequent. Each run draws tighter bounds inside these (swarm).
FUZZ = Bounds(max_term=6, max_log=4, values=2, max_messages=12, max_crashes=2,
              max_partitions=2, drop=True, duplicate=True)

# The bounds each engine searches a core within unless told otherwise, by engine name (for
# commands that take --engine, such as `raftcheck hunt`).
ENGINE_BOUNDS = {"fuzz": FUZZ, "explore": EXPLORE}

# The scripted scenarios: a scenario is a single path, so size costs nothing, and a bound
# that cut a step off would turn a scenario into a ModelError. Terms up to 6 leave room for
# the extra elections a broken core may cause; values up to 3 give each scenario distinct
# commands.
SCENARIO = Bounds(max_term=6, max_log=4, values=3, max_messages=40, max_crashes=2,
                  max_partitions=1, drop=True, duplicate=False)

# A scripted run of your own (the pytest fixture's `run`): wide enough for any hand-written
# schedule, crashes and partitions unbounded.
SCRIPT = Bounds(max_term=10, max_log=10, values=3, max_messages=50, max_crashes=None,
                max_partitions=None)


@frozen
class BoundSet:
    """One exhaustive run of the main job: a name, the behaviour it is aimed at, its bounds."""

    name: str
    aim: str
    bounds: Bounds


# The main job's exhaustive part (`raftcheck check`): small bound sets, each aimed at a
# family of behaviour that the others cannot express (none holds another), instead of one
# run at the defaults, which has no second entry or value, no fault and no fourth term.
# Each is exhausted on 3
# servers; the state counts and times are in docs/exhaustive.md. `--quick` leaves out the
# first, the largest.
PORTFOLIO = (
    BoundSet("messages", "elections and an entry with four messages in flight", EXPLORE),
    BoundSet("elections", "four terms of elections over an entry (Figure 8's commit rule)",
             evolve(SMALL, max_term=4)),
    BoundSet("replication", "two entries of two values", evolve(SMALL, max_term=1, max_log=2,
                                                                 values=2)),
    BoundSet("crash/restart", "a crash, and a restart from what was persisted",
             evolve(SMALL, max_crashes=1)),
    BoundSet("partitions", "a partition and its healing", evolve(SMALL, max_partitions=1)),
    BoundSet("drop/duplicate", "messages lost and delivered twice",
             evolve(SMALL, max_term=1, drop=True, duplicate=True)),
)
