"""`raftcheck hunt --core pysyncobj`: search PySyncObj's faithful core (`impl/pysyncobj.py`),
confirm each counterexample on the installed library. The pipeline and its verdicts are
`library_hunt`'s; what is PySyncObj's is how a counterexample's timers fire.

The library's timers are made to fire in the counterexample's order without touching the
library: its election timeouts are its `random.random()` draws, which the adapter scripts
(`ClusterConfig.draws`): a draw is long (past the run) unless the node's next timeout in the
counterexample comes before its next reset, and heartbeats are spaced by a long
`appendEntriesPeriod` (`HUNT_TIMING`). An election timeout or a heartbeat is then the clock
advanced to that node's timer (`_timer`); a saved run keeps every draw it made.
"""

from __future__ import annotations

from attrs import evolve

from raftcheck.impl.pysyncobj import PySyncObjCore
from raftcheck.model import world as w
from raftcheck.model.adapters import library_hunt
from raftcheck.model.adapters.library_hunt import (
    CANNOT_APPLY as CANNOT_APPLY,
    CONFIRMED as CONFIRMED,
    NOT_CONFIRMED as NOT_CONFIRMED,
    SEARCH_BOUNDS as SEARCH_BOUNDS,
    CannotApply,
    Hunted,
    Search,
    Translation,
)
from raftcheck.model.adapters.pysyncobj_adapter import (
    Cluster,
    ClusterConfig,
    NextTimer,
    _private,
)
from raftcheck.model.adapters.pysyncobj_fuzz import PYSYNCOBJ
from raftcheck.model.world import Bounds
from raftcheck.properties import RAFT_PROPERTIES, Properties

# The library's timing for a translated run (its own settings, in seconds): elections only
# when a draw is short (raftMinTimeout after the reset), heartbeats only when the clock is
# moved a period on, no step-down for want of replies.
HUNT_TIMING = ClusterConfig(raft_min_timeout=3.5, raft_max_timeout=1e7,
                            append_entries_period=1.0, leader_fallback_timeout=1e9)
LONG = 0.999_999  # a draw that never fires within a run
SPACING = 10.0  # seconds a short draw leaves per timer step before its timeout


class PySyncObjTranslation(Translation):
    """A counterexample on PySyncObj: scripted election timeouts (see the module docstring)."""

    library = PYSYNCOBJ
    cluster: Cluster

    def start_config(self) -> ClusterConfig:
        return evolve(HUNT_TIMING, nodes=self.nodes)

    def start(self) -> Cluster:
        """The cluster, its draws chosen by `draw` from which election timers each step of
        the counterexample resets."""
        self.resets: list[frozenset[int]] = []
        for state, action in zip(self.states, self.actions, strict=False):
            reset: set[int] = set()
            if isinstance(action, w.Deliver):
                node = state.nodes[action.message.dest]
                if node is not None and self.model.step_node(node, action.message)[1] \
                        .reset_election_timer:
                    reset.add(action.message.dest)
            elif isinstance(action, (w.Timeout, w.Restart, w.Crash)):
                reset.add(action.node)
            self.resets.append(frozenset(reset))
        return Cluster(self.config, policy=self.draw)

    def draw(self, node: int) -> float:
        """A node's election timeout, drawn during step `position`: short if its next timeout
        in the counterexample comes before its next reset, long otherwise. A short one leaves
        `SPACING` seconds for each timer step before it, so they fire first."""
        timers = 0
        for index in range(self.position + 1, len(self.actions)):
            action = self.actions[index]
            if isinstance(action, w.Timeout) and action.node == node:
                low, high = HUNT_TIMING.raft_min_timeout, HUNT_TIMING.raft_max_timeout
                delay = low + SPACING * timers
                return (delay - low) / (high - low)
            if node in self.resets[index]:
                return LONG
            if isinstance(action, (w.Timeout, w.Heartbeat)):
                timers += 1
        return LONG

    def saved_config(self) -> ClusterConfig:
        """The config with every draw the run made scripted."""
        drawn = tuple(tuple(values) for values in self.cluster.drawn)
        config: ClusterConfig = evolve(self.config, draws=drawn)
        return config

    def timer(self, wanted: w.Timeout | w.Heartbeat, step: int) -> list[w.Action]:
        """Advance the clock to the node's timer. What fires on the way may only be the
        journal's one-second flushes (no core action) and heartbeats of leaders that have
        nothing to send (the library beats at least three times per election timeout, the
        untimed world need not): `fillers_dropped`."""
        obj = self.cluster.objects[wanted.node]
        name = ("raftElectionDeadline" if isinstance(wanted, w.Timeout)
                else "newAppendEntriesTime")
        target = _private(obj, name)
        what = (f"n{wanted.node}'s "
                + ("election" if isinstance(wanted, w.Timeout) else "heartbeat"))
        for _ in range(100_000):
            before = self.tracker.world.nodes
            link_seq = dict(self.cluster.link_seq)
            events = self.take(step, NextTimer())
            self.fillers_dropped(step, before, events, wanted, link_seq, what)
            if wanted in events:
                return [wanted]
            if self.cluster.next_deadline() > target + 1:
                break
        raise CannotApply(step, f"{what} did not fire")


TRANSLATION = PySyncObjTranslation  # what `raftcheck hunt` runs (model/cli/hunt.py)


def confirm(core: PySyncObjCore, nodes: int, prop: str, actions: list[w.Action],
            bounds: Bounds = SEARCH_BOUNDS) -> Hunted:
    """`library_hunt.confirm` on PySyncObj."""
    return library_hunt.confirm(PySyncObjTranslation, core, nodes, prop, actions, bounds)


def hunt(core: PySyncObjCore, *, nodes: int = 3, seed: int = 0, examples: int | None = None,
         seconds: float | None = None, engine: str = "fuzz", bounds: Bounds | None = None,
         properties: Properties = RAFT_PROPERTIES) -> tuple[list[Hunted], Search]:
    """`library_hunt.hunt` on PySyncObj."""
    return library_hunt.hunt(PySyncObjTranslation, core, nodes=nodes, seed=seed,
                             examples=examples, seconds=seconds, engine=engine, bounds=bounds,
                             properties=properties)

