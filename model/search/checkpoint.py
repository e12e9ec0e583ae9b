"""The breadth-first search state (`Bfs`: levels of parent links, the frontier, what was
found) and its checkpoint file: saved atomically, resumed only by the same search."""

from __future__ import annotations

import hashlib
import marshal
import os
import re
import sys
import tempfile
from array import array
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from attrs import define, field

from raftcheck.model.seam import AnyModel
from raftcheck.model.search.store import FingerprintSet, StateQueue
from raftcheck.model.verdict import UsageError

CHECKPOINT_FILE = "explore-checkpoint.marshal"
CHECKPOINT_MAGIC = b"raftcheck-explore-checkpoint-6\n"  # 6: streamed records, XXH3 fingerprints
MARSHAL_FILE_VERSION = 4


@define
class Level:
    """One BFS level: fingerprints, each state's parent position in the previous level, and
    the candidate-action number that led there (the parent links, 14 bytes a state)."""

    fps: array[int] = field(factory=lambda: array("Q"))
    parents: array[int] = field(factory=lambda: array("I"))
    indices: array[int] = field(factory=lambda: array("H"))

    def to_bytes(self) -> tuple[bytes, bytes, bytes]:
        return self.fps.tobytes(), self.parents.tobytes(), self.indices.tobytes()

    @classmethod
    def from_bytes(cls, data: Sequence[bytes]) -> Level:
        level = cls()
        level.fps.frombytes(data[0])
        level.parents.frombytes(data[1])
        level.indices.frombytes(data[2])
        return level


class Levels:
    """The levels of a search, in order: the last in memory (it is the one being expanded),
    the others in an unnamed temporary file (removed by the system when closed), read back
    only to rebuild a counterexample's path, to save a checkpoint or to tell workers on
    resume. So parent links cost disk, not memory: 14 bytes a state."""

    def __init__(self, levels: Sequence[Level], directory: str | None = None) -> None:
        self._directory = directory
        self._file: Any = None
        self._stored: list[tuple[int, int]] = []  # (offset, states) of each level on disk
        self._size = 0
        self._last = Level()
        for number, level in enumerate(levels):
            if number == 0:
                self._last = level
            else:
                self.append(level)

    def __len__(self) -> int:
        return len(self._stored) + 1

    @property
    def last(self) -> Level:
        return self._last

    def append(self, level: Level) -> None:
        """`level` becomes the last; the previous last goes to disk."""
        if self._file is None:
            self._file = tempfile.TemporaryFile(dir=self._directory)  # noqa: SIM115
        data = b"".join(self._last.to_bytes())
        self._file.seek(0, os.SEEK_END)
        self._file.write(data)
        self._stored.append((self._size, len(self._last.fps)))
        self._size += len(data)
        self._last = level

    def __getitem__(self, depth: int) -> Level:
        if depth < 0:
            depth += len(self)
        if depth == len(self._stored):
            return self._last
        offset, count = self._stored[depth]  # IndexError past the end, as a list
        self._file.flush()
        data = os.pread(self._file.fileno(), 14 * count, offset)
        return Level.from_bytes((data[:8 * count], data[8 * count:12 * count],
                                 data[12 * count:]))

    def link(self, depth: int, position: int) -> tuple[int, int]:
        """(parent position, candidate number) of levels[depth]'s state at `position`."""
        if depth == len(self._stored):
            return self._last.parents[position], self._last.indices[position]
        offset, count = self._stored[depth]
        self._file.flush()
        parent = array("I", os.pread(self._file.fileno(), 4, offset + 8 * count + 4 * position))
        index = array("H", os.pread(self._file.fileno(), 2, offset + 12 * count + 2 * position))
        return parent[0], index[0]

    def __iter__(self) -> Iterator[Level]:
        for depth in range(len(self)):
            yield self[depth]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


@define
class Bfs:
    """Breadth-first search state: everything a checkpoint must hold."""

    model: AnyModel
    symmetry: bool
    levels: Levels
    frontier: StateQueue  # the states of levels[-1]: Worlds, or encodings (`encoded`)
    next_level: Level
    next_frontier: StateQueue  # those of next_level, as they are found
    position: int  # frontier[:position] is expanded
    seen: FingerprintSet
    generated: int
    goals: set[str]
    found: list[tuple[str, list[int]]]  # (property, candidate numbers) in discovery order
    seconds: float = 0.0
    encoded: bool = False  # the queues hold encodings (worker processes expand them)

    def path(self, depth: int, position: int) -> list[int]:
        """Successor numbers from the initial state to levels[depth].fps[position]."""
        indices: list[int] = []
        while depth > 0:
            position, index = self.levels.link(depth, position)
            indices.append(index)
            depth -= 1
        indices.reverse()
        return indices

    # ------------------------------------------------------------ checkpoints

    def advance(self) -> None:
        """The next level becomes the frontier."""
        self.levels.append(self.next_level)
        self.frontier.close()
        self.frontier, self.next_frontier = self.next_frontier, \
            new_queue(self.model, self.encoded)
        self.next_level, self.position = Level(), 0

    def depth(self) -> int:
        """The depth of the deepest state found."""
        if self.next_level.fps:
            return len(self.levels)
        return len(self.levels) - 1 if self.levels.last.fps else len(self.levels) - 2

    def close(self) -> None:
        self.frontier.close()
        self.next_frontier.close()
        self.levels.close()

    def save(self, directory: Path, seconds: float) -> None:
        """Write the whole search state to `directory` atomically (write, fsync, rename),
        streamed: one level or one chunk of states in memory at a time."""
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / CHECKPOINT_FILE
        temporary = directory / (CHECKPOINT_FILE + ".tmp")
        header = {
            "python": list(sys.version_info[:2]),
            "identity": _identity(self.model, self.symmetry),
            "levels": len(self.levels),
            "frontier": len(self.frontier),
            "next_frontier": len(self.next_frontier),
            "position": self.position,
            "generated": self.generated,
            "goals": sorted(self.goals),
            "found": self.found,
            "seconds": seconds,
        }
        with open(temporary, "wb") as out:
            writer = _Writer(out)
            writer.record(header)
            for level in self.levels:
                writer.record(level.to_bytes())
            writer.record(self.next_level.to_bytes())
            for queue in (self.frontier, self.next_frontier):
                for chunk in queue.encodings(CHECKPOINT_CHUNK):
                    writer.record(chunk)
            writer.seal()
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)

    @classmethod
    def load(cls, directory: Path, model: AnyModel, symmetry: bool, encoded: bool) -> Bfs:
        path = directory / CHECKPOINT_FILE
        try:
            source = open(path, "rb")  # noqa: SIM115  # closed below
        except OSError as error:
            raise UsageError(f"cannot read checkpoint {path}: {error}") from None
        with source:
            _check_magic(path, source.read(len(CHECKPOINT_MAGIC)))
            reader = _Reader(source)
            try:
                return cls._unpack(path, reader, model, symmetry, encoded)
            except UsageError:  # a readable checkpoint of another search: its own message
                raise
            except (KeyError, IndexError, TypeError, ValueError, AttributeError, EOFError,
                    OSError) as error:
                raise UsageError(f"{path} is damaged: {type(error).__name__}: {error}") \
                    from None

    @classmethod
    def _unpack(cls, path: Path, reader: _Reader, model: AnyModel, symmetry: bool,
                encoded: bool) -> Bfs:
        header = reader.record()
        if header["python"] != list(sys.version_info[:2]):
            raise UsageError(f"{path} was written by Python {header['python']}, not "
                             f"{list(sys.version_info[:2])}")
        mine = _identity(model, symmetry)
        if header["identity"] != mine:
            theirs = list(header["identity"])
            pairs = zip(theirs, mine, strict=False)  # a shorter list differs where it ends
            where = next((i for i, (a, b) in enumerate(pairs) if a != b),
                         min(len(theirs), len(mine)))

            def shown(values: list[Any]) -> str:
                return str(values[where]) if where < len(values) else "(nothing)"

            raise UsageError(f"{path} is a checkpoint of a different search: it has "
                             f"{shown(theirs)} where this search has {shown(mine)}")
        counts = (header["levels"], header["frontier"], header["next_frontier"])
        position, generated, seconds = header["position"], header["generated"], \
            header["seconds"]
        if not (all(isinstance(count, int) and count >= 0 for count in counts)
                and counts[0] >= 1 and isinstance(position, int)
                and isinstance(generated, int) and isinstance(seconds, (int, float))
                and all(isinstance(goal, str) for goal in header["goals"])):
            raise ValueError("its header does not describe a search")
        seen = FingerprintSet()
        levels: Levels | None = None
        frontier = new_queue(model, encoded)
        next_frontier = new_queue(model, encoded)
        try:
            for _ in range(counts[0]):
                level = Level.from_bytes(reader.record())
                seen.update(level.fps)
                if levels is None:
                    levels = Levels([level])
                else:
                    levels.append(level)
            assert levels is not None
            next_level = Level.from_bytes(reader.record())
            seen.update(next_level.fps)
            for queue, count in ((frontier, counts[1]), (next_frontier, counts[2])):
                while len(queue) < count:
                    chunk = reader.record()
                    if not isinstance(chunk, list) or not chunk:
                        raise ValueError("a chunk of states is not a list of states")
                    for encoding in chunk:
                        state = model.decode(encoding)  # each must be one the model reads
                        queue.append(encoding if encoded else state)
            reader.unsealed()
            consistent = (  # one state per fingerprint of a level
                len(frontier) == counts[1] == len(levels.last.fps)
                and len(next_frontier) == counts[2] == len(next_level.fps)
                and 0 <= position <= len(frontier))
            if not consistent:
                raise ValueError("its frontier, levels and counters do not agree")
        except BaseException:
            for queue in (frontier, next_frontier):
                queue.close()
            if levels is not None:
                levels.close()
            raise
        return cls(model, symmetry, levels, frontier, next_level, next_frontier, position,
                   seen, generated, set(header["goals"]),
                   [(name, list(found)) for name, found in header["found"]], seconds, encoded)


# A checkpoint file: the magic line, then records (an 8-byte length and that many bytes of
# marshal data: the header, each level's parent links, the next level's, the frontier's and
# the next frontier's encodings in chunks), then the digest of every record before it. It is
# written and read one record at a time, so saving or resuming a search of any size holds one
# level or one chunk of states at once beyond the search itself.
CHECKPOINT_CHUNK = 4096


class _Writer:
    def __init__(self, out: Any) -> None:
        self._out = out
        self._digest = hashlib.blake2b(digest_size=16)
        out.write(CHECKPOINT_MAGIC)

    def record(self, value: Any) -> None:
        data = marshal.dumps(value, MARSHAL_FILE_VERSION)
        framed = len(data).to_bytes(8, "little") + data
        self._digest.update(framed)
        self._out.write(framed)

    def seal(self) -> None:
        self._out.write(self._digest.hexdigest().encode())


class _Reader:
    def __init__(self, source: Any) -> None:
        self._source = source
        self._size = os.fstat(source.fileno()).st_size
        self._digest = hashlib.blake2b(digest_size=16)

    def record(self) -> Any:
        prefix = self._source.read(8)
        size = int.from_bytes(prefix, "little")
        if len(prefix) < 8 or size > self._size - self._source.tell():  # never read past
            raise EOFError("the file ends in the middle of a record")  # the end (a bad size)
        data = self._source.read(size)
        self._digest.update(prefix + data)
        return marshal.loads(data)

    def unsealed(self) -> None:
        """Raise unless the rest of the file is the digest of every record read."""
        digest = self._digest.hexdigest().encode()
        if self._source.read(len(digest) + 1) != digest:
            raise ValueError("its content does not match its digest (edited or truncated)")


def _check_magic(path: Path, start: bytes) -> None:
    """Refuse a file that is not a checkpoint of this format, saying which it is."""
    if start == CHECKPOINT_MAGIC:
        return
    with open(path, "rb") as source:
        older = re.search(rb"raftcheck-explore-checkpoint-\d+", source.read(256))
    if older is not None:
        raise UsageError(f"{path} is a checkpoint in an older format "
                         f"({older.group().decode()}); this raftcheck reads "
                         f"{CHECKPOINT_MAGIC.decode().strip()}: start the search again")
    raise UsageError(f"{path} is not a raftcheck explore checkpoint")


# A level's queue keeps its first QUEUE_LIVE states as they are, then their encodings, up to
# QUEUE_MEMORY bytes in memory and the rest in a temporary file. Two levels are open at once
# (the one being expanded and the one being found). Live states share their servers,
# messages and histories with each other, so they are cheap; an encoded one costs a marshal
# encode and decode (about 20 µs) and comes back as new objects, which the identity memos of
# the fingerprint and the step do not know. `--max-term 3`'s widest level (70,388 states)
# stays live: 1.4-1.6 times faster than with 10,000 live, and a lower peak RSS (182 against 322
# MiB; docs/exhaustive.md). Wider levels pay for the states beyond it.
QUEUE_LIVE = 100_000
QUEUE_MEMORY = 8 * 2**20


def new_queue(model: AnyModel, encoded: bool) -> StateQueue:
    """A queue of Worlds, or of encodings (`encoded`: the workers' currency)."""
    if encoded:
        return StateQueue(QUEUE_LIVE, QUEUE_MEMORY)
    return StateQueue(QUEUE_LIVE, QUEUE_MEMORY, model.encode, model.decode)


def _identity(model: AnyModel, symmetry: bool) -> list[Any]:
    """What a checkpoint must match to be resumed: the same core, world, bounds, reduction."""
    return [*model.identity(), model.symmetric(symmetry)]
