"""Cores that break the core protocol, one way each, for the diagnosis tests.

Loaded by file path (`--core tests/cores/bad_cores.py:RAISING_STEP`), as a user's core
outside any package would be; test directories have no __init__.py, so this is not
importable as `tests.cores...`. Each breaks at a known first moment, so the tests can pin
the step and the one-line message.
"""

from __future__ import annotations

from typing import Any

from raftcheck.impl.raft import RaftCore
from raftcheck.impl.types import Effects, ElectionTimeout, Event, Node, Persistent, Role


class RaisingStep(RaftCore):
    """Divides by zero when a candidate's vote request arrives."""

    name = "raising-step"

    def step(self, node: Node, event: Event) -> tuple[Node, Effects]:
        if type(event).__name__ == "RequestVote":
            return 1 // 0  # type: ignore[no-any-return]  # the bug on purpose
        return super().step(node, event)


class WrongReturn(RaftCore):
    """Returns the node alone from an election timeout, forgetting the effects."""

    name = "wrong-return"

    def step(self, node: Node, event: Event) -> Any:
        after, _effects = super().step(node, event)
        if isinstance(event, ElectionTimeout):
            return after
        return after, _effects


class MutatingStep(RaftCore):
    """Bumps the term of the node it was given in place (frozen attrs classes can still be
    mutated through object.__setattr__) instead of returning a new node."""

    name = "mutating-step"

    def step(self, node: Node, event: Event) -> tuple[Node, Effects]:
        after, effects = super().step(node, event)
        if isinstance(event, ElectionTimeout):
            object.__setattr__(node, "role", Role.CANDIDATE)
        return after, effects


class RaisingInitialNode(RaftCore):
    """Cannot even build a node."""

    name = "raising-initial-node"

    def initial_node(self, node_id: int, cluster_size: int) -> Node:
        raise RuntimeError("no config file")


class RaisingRestart(RaftCore):
    """Fails to read its own disk back."""

    name = "raising-restart"

    def restart(self, node_id: int, cluster_size: int, persistent: Persistent) -> Node:
        raise KeyError("log")


class WrongNodeId(RaftCore):
    """Returns a node that claims to be another server after an election timeout."""

    name = "wrong-node-id"

    def step(self, node: Node, event: Event) -> tuple[Node, Effects]:
        after, effects = super().step(node, event)
        if isinstance(event, ElectionTimeout):
            after = Node(id=(node.id + 1) % node.cluster_size, cluster_size=node.cluster_size)
        return after, effects


class MissingStep:
    """Has everything but `step`."""

    name = "missing-step"

    def initial_node(self, node_id: int, cluster_size: int) -> Node:
        return Node(id=node_id, cluster_size=cluster_size)

    def restart(self, node_id: int, cluster_size: int, persistent: Persistent) -> Node:
        return Node(id=node_id, cluster_size=cluster_size, persistent=persistent)


class WrongArity(MissingStep):
    """`step` takes one argument instead of two."""

    name = "wrong-arity"

    def step(self, event: Event) -> tuple[Node, Effects]:
        raise NotImplementedError


RAISING_STEP = RaisingStep()
WRONG_RETURN = WrongReturn()
MUTATING_STEP = MutatingStep()
RAISING_INITIAL_NODE = RaisingInitialNode()
RAISING_RESTART = RaisingRestart()
WRONG_NODE_ID = WrongNodeId()
MISSING_STEP = MissingStep()
WRONG_ARITY = WrongArity()
NOT_A_CORE = 42
