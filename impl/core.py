"""The core protocol: what the world needs from a Raft core, beside the types it is written in.

A core is any object with a string `name` and three functions over the values of
`impl.types`: `initial_node`, `restart` and `step`. `impl.raft.RaftCore` is the bundled one;
`examples/my_core.py` is one written from scratch. `raftcheck.model.conformance.check_core`
runs the checks every core must pass.

One optional attribute: `leader_timer = True` on a core whose leaders have a timer of their own
(raftos's leader steps down when a majority stops answering) makes the world fire `Timeout` at
leaders too; without it the world fires election timeouts only at followers and candidates.
"""

from __future__ import annotations

from typing import Protocol

from raftcheck.impl.types import Effects, Event, Node, Persistent


class Core(Protocol):
    """What the world needs from a Raft core. `impl.raft.RaftCore` is the bundled one."""

    @property
    def name(self) -> str: ...

    def initial_node(self, node_id: int, cluster_size: int) -> Node: ...

    def restart(self, node_id: int, cluster_size: int, persistent: Persistent) -> Node: ...

    def step(self, node: Node, event: Event) -> tuple[Node, Effects]: ...
