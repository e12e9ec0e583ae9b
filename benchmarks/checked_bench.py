"""What checked mode costs: world transitions per second with and without the validation of
every call into the core (model.world.Model.checked; on by default for cores from outside
`impl`). Not a test: run it and copy the figures, with the machine and the command.

    python benchmarks/checked_bench.py [--walks N] [--rounds R]

The workload is the (state, action) pairs of seeded random walks through the fuzz engine's
world, replayed through `Model.next_state` alternately unchecked and checked; the best round
of each counts (the machine is shared, so the slower rounds measure the neighbours).
"""

from __future__ import annotations

import argparse
import platform
import random
import time

from raftcheck.impl.raft import CORE
from raftcheck.model.stateful import FUZZ_BOUNDS
from raftcheck.model.world import Action, Config, Model, World


def workload(model: Model, walks: int, depth: int, seed: int) -> list[tuple[World, Action]]:
    rng = random.Random(seed)
    pairs: list[tuple[World, Action]] = []
    for _ in range(walks):
        state = model.initial_state()
        for _ in range(depth):
            options = list(model.successors(state))
            if not options:
                break
            action, after = rng.choice(options)
            pairs.append((state, action))
            state = after
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--walks", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    unchecked = Model(CORE, Config(), FUZZ_BOUNDS, checked=False)
    checked = Model(CORE, Config(), FUZZ_BOUNDS, checked=True)
    pairs = workload(unchecked, args.walks, 40, seed=1)
    best = {"unchecked": float("inf"), "checked": float("inf")}
    for _ in range(args.rounds):
        for label, model in (("unchecked", unchecked), ("checked", checked)):
            started = time.perf_counter()
            for state, action in pairs:
                model.next_state(state, action)
            best[label] = min(best[label], time.perf_counter() - started)
    print(f"{platform.python_implementation()} {platform.python_version()} on "
          f"{platform.machine()}, {len(pairs):,} transitions, best of {args.rounds}")
    for label, seconds in best.items():
        print(f"{label:>9}: {len(pairs) / seconds:10,.0f} transitions/s "
              f"({seconds / len(pairs) * 1e6:.2f} µs each)")
    print(f" overhead: {best['checked'] / best['unchecked'] - 1:+.0%}")


if __name__ == "__main__":
    main()
