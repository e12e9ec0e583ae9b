"""The BFS's compact storage (model/search/store.py): the fingerprint table is a set, and a
level's queue gives back what it was given, in order, whether an item stayed live, was kept
encoded in memory or went to the temporary file; a search whose queues spill after a handful
of states visits exactly the states of one that never spills."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from raftcheck.impl.raft import CORE
from raftcheck.model.explore import explore
from raftcheck.model.search import checkpoint
from raftcheck.model.search.store import FingerprintSet, StateQueue
from raftcheck.model.world import Bounds, Config, Model

FINGERPRINTS = st.one_of(st.integers(0, 2**64 - 1), st.integers(0, 64),
                         st.integers(0, 64).map(lambda low: low | 1 << 40))  # shared low bits


@given(st.lists(FINGERPRINTS, max_size=3000), st.lists(FINGERPRINTS, max_size=50))
@settings(max_examples=60, deadline=None)
def test_the_fingerprint_table_is_a_set(added: list[int], probes: list[int]) -> None:
    table, reference = FingerprintSet(), set()
    for fp in added:
        assert table.add(fp) == (fp not in reference)
        reference.add(fp)
    assert len(table) == len(reference)
    for fp in [*added, *probes]:
        assert (fp in table) == (fp in reference)


ITEMS = st.lists(st.tuples(st.integers(-5, 2**40), st.text(max_size=30),
                           st.lists(st.integers(), max_size=5).map(tuple)), max_size=200)


@given(ITEMS, st.integers(0, 20), st.integers(0, 200), st.data())
@settings(max_examples=80, deadline=None)
def test_a_queue_gives_back_what_it_was_given(items: list[tuple[object, ...]], live: int,
                                              budget: int, data: st.DataObject) -> None:
    queue = StateQueue(live, budget, encode=list, decode=tuple)
    queue.extend(items)
    try:
        assert len(queue) == len(items) and queue.stored == max(len(items) - live, 0)
        assert list(queue) == items
        start = data.draw(st.integers(0, len(items)))
        stop = data.draw(st.integers(start, len(items) + 3))
        assert queue.read(start, stop) == items[start:stop]
        if items:
            position = data.draw(st.integers(0, len(items) - 1))
            assert queue[position] == items[position]
        with pytest.raises(IndexError):
            queue[len(items)]
        step = data.draw(st.integers(1, 50))
        chunks = list(queue.encodings(step))
        assert all(0 < len(chunk) <= step for chunk in chunks)
        assert [item for chunk in chunks for item in chunk] == [list(i) for i in items]
    finally:
        queue.close()
    assert len(queue) == 0


@pytest.mark.parametrize("workers", [1, 2])
def test_a_search_that_spills_visits_the_same_states(workers: int,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    model = Model(CORE, Config(3), Bounds(max_term=2, max_log=1, max_messages=3,
                                          max_crashes=0, drop=False))
    whole = explore(model, workers=workers)
    monkeypatch.setattr(checkpoint, "QUEUE_LIVE", 3)
    monkeypatch.setattr(checkpoint, "QUEUE_MEMORY", 2000)
    spilled = explore(model, workers=workers)
    assert (spilled.verdict, spilled.distinct, spilled.generated, spilled.depth) == (
        whole.verdict, whole.distinct, whole.generated, whole.depth)
    assert whole.distinct == 3273  # 3 servers, term ≤ 2, log ≤ 1, 3 messages


@given(st.lists(st.lists(st.tuples(st.integers(0, 2**64 - 1), st.integers(0, 2**32 - 1),
                                   st.integers(0, 2**16 - 1)), max_size=40),
                min_size=1, max_size=8))
@settings(max_examples=60, deadline=None)
def test_levels_on_disk_give_back_every_link(levels: list[list[tuple[int, int, int]]]) -> None:
    """Only the last level stays in memory; the others are read back from the file, whole
    or one parent link at a time."""
    def level_of(rows: list[tuple[int, int, int]]) -> checkpoint.Level:
        level = checkpoint.Level()
        for fp, parent, index in rows:
            level.fps.append(fp)
            level.parents.append(parent)
            level.indices.append(index)
        return level

    stored = checkpoint.Levels([level_of(levels[0])])
    for rows in levels[1:]:
        stored.append(level_of(rows))
    try:
        assert len(stored) == len(levels)
        assert stored.last == level_of(levels[-1])
        for depth, rows in enumerate(levels):
            assert stored[depth] == level_of(rows)
            for position, (_, parent, index) in enumerate(rows):
                assert stored.link(depth, position) == (parent, index)
        assert list(stored) == [level_of(rows) for rows in levels]
    finally:
        stored.close()
