"""Compact storage for the breadth-first search: the fingerprints seen (`FingerprintSet`, an
open-addressing table of 64-bit integers, 12-24 bytes a state where a Python set of ints
takes about 70) and a level's states (`StateQueue`: the first few thousand as they are, the
rest as marshalled encodings, in memory up to a budget and in a temporary file beyond it), so
that memory grows by a few tens of bytes per distinct state, as in TLC, instead of by a
live object graph per state of the widest levels."""

from __future__ import annotations

import marshal
import os
import tempfile
from array import array
from collections.abc import Callable, Iterable, Iterator
from typing import Any

MARSHAL_VERSION = 4
_EMPTY = 0  # a free slot; the fingerprint 0 itself is kept apart (`FingerprintSet._zero`)


class FingerprintSet:
    """A set of 64-bit fingerprints in one array: linear probing, at most two thirds full,
    doubled when it gets there (8 bytes a slot: 12-24 bytes a fingerprint, 36 for a moment
    while it doubles)."""

    __slots__ = ("_count", "_mask", "_slots", "_zero")

    def __init__(self, fingerprints: Iterable[int] = ()) -> None:
        self._slots = array("Q", bytes(8 * 1024))
        self._mask = 1023
        self._count = 0
        self._zero = False
        for fp in fingerprints:
            self.add(fp)

    def __len__(self) -> int:
        return self._count

    def __contains__(self, fp: object) -> bool:
        if fp == _EMPTY:
            return self._zero
        slots, mask = self._slots, self._mask
        index = fp & mask  # type: ignore[operator]
        while True:
            held = slots[index]
            if held == fp:
                return True
            if held == _EMPTY:
                return False
            index = (index + 1) & mask

    def add(self, fp: int) -> bool:
        """Add `fp`; True when it was not there before."""
        if fp == _EMPTY:
            new = not self._zero
            self._zero = True
            self._count += new
            return new
        slots, mask = self._slots, self._mask
        index = fp & mask
        while True:
            held = slots[index]
            if held == fp:
                return False
            if held == _EMPTY:
                break
            index = (index + 1) & mask
        slots[index] = fp
        self._count += 1
        if 3 * self._count > 2 * mask:
            self._grow()
        return True

    def update(self, fingerprints: Iterable[int]) -> None:
        for fp in fingerprints:
            self.add(fp)

    def _grow(self) -> None:
        old = self._slots
        self._slots = array("Q", bytes(16 * len(old)))
        self._mask = 2 * len(old) - 1
        slots, mask = self._slots, self._mask
        for fp in old:
            if fp != _EMPTY:
                index = fp & mask
                while slots[index] != _EMPTY:
                    index = (index + 1) & mask
                slots[index] = fp

    @property
    def nbytes(self) -> int:
        return len(self._slots) * 8


def _same(item: Any) -> Any:
    return item


class StateQueue:
    """One BFS level's states in discovery order, read back by position. The first `live`
    are kept as they are (no cost for a level that fits); the others as their marshalled
    encodings (`encode`, read back through `decode`), in memory up to `budget` bytes and
    beyond it in an unnamed temporary file (removed by the system when closed), so a wide
    level costs disk, not memory: 8 bytes of offset a state."""

    def __init__(self, live: int, budget: int, encode: Callable[[Any], Any] = _same,
                 decode: Callable[[Any], Any] = _same, directory: str | None = None) -> None:
        self._live_limit = live
        self._live: list[Any] = []
        self._encode, self._decode = encode, decode
        self._budget = budget
        self._directory = directory
        self._buffer = bytearray()
        self._offsets = array("Q", [0])
        self._file: Any = None  # the spill file, once the buffer outgrew the budget
        self._spilled = 0  # bytes of the spill file (written before the buffer's)

    def __len__(self) -> int:
        return len(self._live) + len(self._offsets) - 1

    def append(self, item: Any) -> None:
        if len(self._live) < self._live_limit:
            self._live.append(item)
            return
        data = marshal.dumps(self._encode(item), MARSHAL_VERSION)
        self._buffer += data
        self._offsets.append(self._offsets[-1] + len(data))
        if len(self._buffer) > self._budget:
            self._spill()

    def extend(self, items: Iterable[Any]) -> None:
        for item in items:
            self.append(item)

    def _spill(self) -> None:
        if self._file is None:
            # closed by close(), when the level is done
            self._file = tempfile.TemporaryFile(dir=self._directory)  # noqa: SIM115
        self._file.seek(0, os.SEEK_END)
        self._file.write(self._buffer)
        self._spilled += len(self._buffer)
        self._buffer = bytearray()

    def __getitem__(self, position: int) -> Any:
        if not 0 <= position < len(self):
            raise IndexError(position)
        (item,) = self.read(position, position + 1)
        return item

    def _read(self, start: int, end: int) -> bytes:
        if start >= self._spilled:
            return bytes(self._buffer[start - self._spilled:end - self._spilled])
        self._file.flush()
        data = os.pread(self._file.fileno(), min(end, self._spilled) - start, start)
        if end > self._spilled:
            data += bytes(self._buffer[:end - self._spilled])
        return data

    def read(self, start: int, stop: int) -> list[Any]:
        """The items at positions start..stop-1 (the stored ones in one read)."""
        stop = min(stop, len(self))
        live = len(self._live)
        items = self._live[start:min(stop, live)]
        start, stop = max(start - live, 0), stop - live
        if start < stop:
            base = self._offsets[start]
            data = self._read(base, self._offsets[stop])
            decode, offsets = self._decode, self._offsets
            items += [decode(marshal.loads(data[offsets[i] - base:offsets[i + 1] - base]))
                      for i in range(start, stop)]
        return items

    def __iter__(self) -> Iterator[Any]:
        step = 1024
        for start in range(0, len(self), step):
            yield from self.read(start, start + step)

    def encodings(self, step: int = 1024) -> Iterator[list[Any]]:
        """Every item's encoding, in lists of up to `step`: the live ones encoded, the stored
        ones as they are (never decoded), so a checkpoint streams a level without
        rebuilding its states."""
        live = self._live
        for start in range(0, len(live), step):
            yield [self._encode(item) for item in live[start:start + step]]
        offsets = self._offsets
        for start in range(0, len(offsets) - 1, step):
            stop = min(start + step, len(offsets) - 1)
            base = offsets[start]
            data = self._read(base, offsets[stop])
            yield [marshal.loads(data[offsets[i] - base:offsets[i + 1] - base])
                   for i in range(start, stop)]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._live = []
        self._buffer = bytearray()
        self._offsets = array("Q", [0])
        self._spilled = 0

    @property
    def stored(self) -> int:
        """How many items are held as encodings (in memory or on disk)."""
        return len(self._offsets) - 1
