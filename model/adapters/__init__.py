"""Adapters that put a real, released Raft library in the suite's world.

A library is not a pure `step(node, event)` function: it owns a transport, timers, a random
source and a journal. An adapter replaces each of them with something the suite controls (an
in-memory network, a simulated clock, a seeded generator, a journal that survives a simulated
crash) and maps the library's internals to `impl.types.Node`, so that `properties/` checks the
library unchanged. Adapters live here, in `model/`, and not in `impl/`: `impl/` is the pure
core under test and may not touch time, randomness or the world, while an adapter *is* world
machinery (see docs/pysyncobj.md, "Where the adapter lives").

Each adapter imports its library only inside its own module; importing this package needs no
optional dependency.
"""

import logging

# raftos logs a warning when it is imported without `cryptography` (it then offers only its
# DummyCryptor, which the adapter uses anyway); with no handler, logging would print it on
# stderr in the middle of a run's output. A NullHandler on its logger, as a library's own
# would be: the adapter captures what raftos logs during a run with a handler of its own.
logging.getLogger("raftos").addHandler(logging.NullHandler())
