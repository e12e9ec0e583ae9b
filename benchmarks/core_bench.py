"""Throughput of the Raft core and of the engines around it. Not a test: run it, and copy the
figures with the machine and the command into docs/performance.md.

    python benchmarks/core_bench.py [--seconds S] [--json]

* core steps/s: `step(node, event)` alone, replaying (node, event) pairs recorded from seeded
  random walks through the world, so the mix of events is a realistic one;
* world transitions/s: `Model.next_state` (core step + effects + ghost history);
* stateful steps/s: the Hypothesis engine end to end (rule selection, preconditions,
  properties after every step), for the ci profile's first batches.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time

from raftcheck.impl.raft import CORE
from raftcheck.impl.types import ClientRequest, ElectionTimeout, Event, HeartbeatTimeout, Node, Put
from raftcheck.model.fuzz import fuzz
from raftcheck.model.stateful import FUZZ_BOUNDS
from raftcheck.model.world import Config, Deliver, Heartbeat, Model, Submit, Timeout, World


def record_workload(model: Model, walks: int, depth: int, seed: int) -> tuple[
        list[tuple[Node, Event]], list[tuple[World, object]]]:
    rng = random.Random(seed)
    core_inputs: list[tuple[Node, Event]] = []
    transitions: list[tuple[World, object]] = []
    for _ in range(walks):
        state = model.initial_state()
        for _ in range(depth):
            options = list(model.successors(state))
            if not options:
                break
            action, after = rng.choice(options)
            transitions.append((state, action))
            event: Event | None = None
            node_id = None
            if isinstance(action, Deliver):
                event, node_id = action.message, action.message.dest
            elif isinstance(action, Timeout):
                event, node_id = ElectionTimeout(), action.node
            elif isinstance(action, Heartbeat):
                event, node_id = HeartbeatTimeout(), action.node
            elif isinstance(action, Submit):
                event, node_id = ClientRequest(Put(action.key, action.value)), action.node
            if event is not None and node_id is not None:
                node = state.nodes[node_id]
                assert node is not None
                core_inputs.append((node, event))
            state = after
    return core_inputs, transitions


def rate(work: int, seconds: float) -> float:
    return work / seconds if seconds > 0 else float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    model = Model(CORE, Config(), FUZZ_BOUNDS)
    core_inputs, transitions = record_workload(model, walks=200, depth=60, seed=0)

    step = CORE.step
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < args.seconds:
        for node, event in core_inputs:
            step(node, event)
        count += len(core_inputs)
    core_rate = rate(count, time.perf_counter() - started)

    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < args.seconds:
        for state, action in transitions:
            model.next_state(state, action)  # type: ignore[arg-type]
        count += len(transitions)
    world_rate = rate(count, time.perf_counter() - started)

    result = fuzz(model, seed=0, profile="ci", examples=200)
    stateful_rate = rate(result.steps, result.seconds)

    figures = {
        "machine": f"{platform.processor() or platform.machine()}, "
                   f"{platform.python_implementation()} {platform.python_version()}",
        "core_steps_per_s": round(core_rate),
        "world_transitions_per_s": round(world_rate),
        "stateful_steps_per_s": round(stateful_rate),
        "stateful_examples": result.examples,
        "recorded_core_inputs": len(core_inputs),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:28s} {value:,}" if isinstance(value, int) else f"{key:28s} {value}")


if __name__ == "__main__":
    main()
