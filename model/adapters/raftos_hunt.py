"""`raftcheck hunt --core raftos`: search raftos's faithful core (`impl/raftos.py`), confirm
each counterexample on the installed library. The pipeline and its verdicts are
`library_hunt`'s; what is raftos's is how a counterexample's timers fire.

On one clock shared by every node, a raftos leader that hears no majority steps down after
`step_down_missed_heartbeats` heartbeats, and a follower's election timeout is drawn from
[that same interval, its `election_interval_spread` multiple]: the leader's step-down always
comes first, so a counterexample in which a follower times out beside a silent leader could
never be replayed by scripting draws (as PySyncObj's hunt does). Each timer step is instead the
node's own clock run to its next timer (`FireTimer`) while every other node is paused, as a
process stopped by the OS or a garbage-collection pause would be: a run any deployment can
see, since nothing in Raft's safety rests on clocks. The library keeps its own timing (its
defaults) and its seeded draws, so a saved run replays from its seed.

What fires on the way to the wanted timer may only be heartbeats of that node when it leads
and they leave it as it was (`fillers_dropped`); their messages are dropped. A leader's step-
down (the core's `Timeout` of a leader) therefore comes after its unanswered heartbeats, as in
the library.
"""

from __future__ import annotations

from raftcheck.impl.raftos import RaftosCore
from raftcheck.model import world as w
from raftcheck.model.adapters import library_hunt
from raftcheck.model.adapters.library_hunt import (
    SEARCH_BOUNDS,
    CannotApply,
    Hunted,
    Search,
    Translation,
)
from raftcheck.model.adapters.raftos_fuzz import RAFTOS
from raftcheck.model.adapters.sim import FireTimer
from raftcheck.model.world import Bounds
from raftcheck.properties import RAFT_PROPERTIES, Properties

MAX_FILLERS = 1_000  # timers of the node that may fire before the wanted one


class RaftosTranslation(Translation):
    """A counterexample on raftos: each timer step is its node's clock alone."""

    library = RAFTOS

    def timer(self, wanted: w.Timeout | w.Heartbeat, step: int) -> list[w.Action]:
        what = (f"n{wanted.node}'s "
                + ("heartbeat" if isinstance(wanted, w.Heartbeat) else
                   "step-down" if self._leads(wanted.node, step) else "election timeout"))
        for _ in range(MAX_FILLERS):
            before = self.tracker.world.nodes
            link_seq = dict(self.cluster.link_seq)
            events = self.take(step, FireTimer(wanted.node))
            self.fillers_dropped(step, before, events, wanted, link_seq, what)
            if wanted in events:
                return [wanted]
        raise CannotApply(step, f"{what} did not fire within {MAX_FILLERS} of its timers")

    def _leads(self, node: int, step: int) -> bool:
        """Whether `node` leads before the counterexample's step `step` (from 1)."""
        state = self.states[step - 1].nodes[node]
        return state is not None and state.leader is not None


TRANSLATION = RaftosTranslation  # what `raftcheck hunt` runs (model/cli/hunt.py)


def confirm(core: RaftosCore, nodes: int, prop: str, actions: list[w.Action],
            bounds: Bounds = SEARCH_BOUNDS) -> Hunted:
    """`library_hunt.confirm` on raftos."""
    return library_hunt.confirm(RaftosTranslation, core, nodes, prop, actions, bounds)


def hunt(core: RaftosCore, *, nodes: int = 3, seed: int = 0, examples: int | None = None,
         seconds: float | None = None, engine: str = "fuzz", bounds: Bounds | None = None,
         properties: Properties = RAFT_PROPERTIES) -> tuple[list[Hunted], Search]:
    """`library_hunt.hunt` on raftos."""
    return library_hunt.hunt(RaftosTranslation, core, nodes=nodes, seed=seed,
                             examples=examples, seconds=seconds, engine=engine, bounds=bounds,
                             properties=properties)
