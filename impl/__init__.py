"""The Raft core under test: a pure step function and its state, message and effect types.

This package is what users refactor or replace with their own core. It imports nothing from
`model` or `properties`.
"""

from raftcheck.impl.raft import CORE, RaftCore, initial_node, restart, step

__all__ = ["CORE", "RaftCore", "initial_node", "restart", "step"]
