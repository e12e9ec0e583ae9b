"""Fingerprints and symmetry reduction: what deduplication in the exhaustive engine rests on.

A fingerprint must depend on the state's value only (not on object identity, the process or
PYTHONHASHSEED), distinguish every pair of distinct states in a small space, and — reduced —
agree exactly on the relabellings of one state (servers are interchangeable)."""

from __future__ import annotations

import itertools
import json
import os
import random
import subprocess
import sys

import pytest

from raftcheck.impl.raft import CORE
from raftcheck.model.fingerprint import decode, encode, fingerprint
from raftcheck.model.symmetry import canonical_fingerprint, exact_fingerprint, relabel, state_bytes
from raftcheck.model.world import Bounds, Config, Model, World

# A small space with every kind of action: crashes, drops, duplicates and a partition.
MODEL = Model(CORE, Config(3), Bounds(max_term=2, max_log=1, values=1, max_messages=3,
                                      max_crashes=1, max_partitions=1, drop=True,
                                      duplicate=True))


def reachable(model: Model, limit: int) -> list[World]:
    """Up to `limit` distinct states in BFS order (deduplicated by value)."""
    initial = model.initial_state()
    seen = {initial}
    order = [initial]
    for state in order:
        for _, after in model.successors(state):
            if after not in seen:
                seen.add(after)
                order.append(after)
                if len(order) >= limit:
                    return order
    return order


STATES = reachable(MODEL, 4000)


def test_encoding_is_lossless() -> None:
    for state in STATES:
        assert decode(encode(state)) == state


def test_distinct_states_have_distinct_exact_fingerprints() -> None:
    assert len({fingerprint(state) for state in STATES}) == len(STATES)
    assert len({exact_fingerprint(state) for state in STATES}) == len(STATES)


def test_fingerprint_depends_on_value_not_identity() -> None:
    for state in STATES[::7]:
        copy = decode(encode(state))  # equal, but made of other objects
        assert copy is not state
        assert fingerprint(copy) == fingerprint(state)
        assert exact_fingerprint(copy) == exact_fingerprint(state)
        assert canonical_fingerprint(copy) == canonical_fingerprint(state)


def test_fingerprints_agree_across_processes_and_hash_seeds() -> None:
    """Workers and resumed runs compute fingerprints in other processes: str hashing is
    randomized per process, so nothing may depend on hash()."""
    sample = STATES[:300]
    here = [[fingerprint(s), exact_fingerprint(s), canonical_fingerprint(s)] for s in sample]
    script = (
        "import json, sys\n"
        "from tests.exhaustive.test_fingerprint import STATES\n"
        "from raftcheck.model.fingerprint import fingerprint\n"
        "from raftcheck.model.symmetry import canonical_fingerprint, exact_fingerprint\n"
        "print(json.dumps([[fingerprint(s), exact_fingerprint(s), canonical_fingerprint(s)]"
        " for s in STATES[:300]]))\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for seed in ("1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             env=env, cwd=root, check=True)
        assert json.loads(out.stdout) == here


def test_relabelled_states_share_the_reduced_fingerprint() -> None:
    rng = random.Random(3)
    for state in rng.sample(STATES, 600):
        reduced = canonical_fingerprint(state)
        for new in itertools.permutations(range(3)):
            other = relabel(state, new)
            assert canonical_fingerprint(other) == reduced
            if other != state:
                assert exact_fingerprint(other) != exact_fingerprint(state)


def test_reduced_fingerprint_separates_states_that_are_not_relabellings() -> None:
    """Two states share a reduced fingerprint only if one is a relabelling of the other."""
    by_fingerprint: dict[int, World] = {}
    for state in STATES:
        fp = canonical_fingerprint(state)
        if fp in by_fingerprint:
            first = by_fingerprint[fp]
            assert any(relabel(first, new) == state
                       for new in itertools.permutations(range(3))), (first, state)
        else:
            by_fingerprint[fp] = state
    assert len(by_fingerprint) < len(STATES) / 3  # and the reduction is worth having


def test_the_model_is_symmetric() -> None:
    """What makes symmetry reduction sound: a relabelled state has the relabelled successors
    (so the same verdicts), and the properties treat servers alike."""
    rng = random.Random(5)
    for state in rng.sample(STATES, 300):
        expected = sorted(state_bytes(after) for _, after in MODEL.successors(state))
        for new in itertools.permutations(range(3)):
            other = relabel(state, new)
            assert sorted(state_bytes(after) for _, after in MODEL.successors(other)) == \
                expected


def test_relabel_rejects_a_non_permutation() -> None:
    with pytest.raises(ValueError, match="permutation"):
        relabel(STATES[0], [0, 0, 1])
