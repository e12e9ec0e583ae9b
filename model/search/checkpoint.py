"""The breadth-first search state (`Bfs`: levels of parent links, the frontier, what was
found) and its checkpoint file: saved atomically, resumed only by the same search."""

from __future__ import annotations

import hashlib
import marshal
import os
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
CHECKPOINT_MAGIC = "raftcheck-explore-checkpoint-5"  # 5: digest-sealed, current fingerprints
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
        """Write the whole search state to `directory` atomically (write, fsync, rename)."""
        directory.mkdir(parents=True, exist_ok=True)

        def encodings(states: StateQueue) -> list[Any]:
            return list(states) if self.encoded else [self.model.encode(s) for s in states]

        data = {
            "magic": CHECKPOINT_MAGIC,
            "python": list(sys.version_info[:2]),
            "identity": _identity(self.model, self.symmetry),
            "levels": [level.to_bytes() for level in self.levels],
            "next_level": self.next_level.to_bytes(),
            "frontier": encodings(self.frontier),
            "next_frontier": encodings(self.next_frontier),
            "position": self.position,
            "generated": self.generated,
            "goals": sorted(self.goals),
            "found": self.found,
            "seconds": seconds,
        }
        payload = marshal.dumps(data, MARSHAL_FILE_VERSION)
        sealed = {"magic": CHECKPOINT_MAGIC, "digest": _digest(payload), "payload": payload}
        target = directory / CHECKPOINT_FILE
        temporary = directory / (CHECKPOINT_FILE + ".tmp")
        with open(temporary, "wb") as out:
            marshal.dump(sealed, out, MARSHAL_FILE_VERSION)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)

    @classmethod
    def load(cls, directory: Path, model: AnyModel, symmetry: bool, encoded: bool) -> Bfs:
        path = directory / CHECKPOINT_FILE
        try:
            with open(path, "rb") as source:
                sealed = marshal.load(source)
        except (OSError, EOFError, ValueError, TypeError) as error:
            raise UsageError(f"cannot read checkpoint {path}: {error}") from None
        magic = sealed.get("magic") if isinstance(sealed, dict) else None
        if magic != CHECKPOINT_MAGIC:
            if isinstance(magic, str) and magic.startswith(CHECKPOINT_MAGIC.rsplit("-", 1)[0]):
                raise UsageError(f"{path} is a checkpoint in an older format ({magic}); this "
                                 f"raftcheck reads {CHECKPOINT_MAGIC}: start the search again")
            raise UsageError(f"{path} is not a raftcheck explore checkpoint")
        payload = sealed.get("payload")
        if not isinstance(payload, bytes) or sealed.get("digest") != _digest(payload):
            raise UsageError(f"{path} is damaged: its content does not match its digest "
                             "(edited or truncated); start the search again")
        try:
            return cls._unpack(path, marshal.loads(payload), model, symmetry, encoded)
        except UsageError:  # a readable checkpoint of another search: its own message
            raise
        except (KeyError, IndexError, TypeError, ValueError, AttributeError, EOFError) as error:
            raise UsageError(f"{path} is damaged: {type(error).__name__}: {error}") from None

    @classmethod
    def _unpack(cls, path: Path, data: Any, model: AnyModel, symmetry: bool,
                encoded: bool) -> Bfs:
        if data["python"] != list(sys.version_info[:2]):
            raise UsageError(f"{path} was written by Python {data['python']}, not "
                             f"{list(sys.version_info[:2])}")
        mine = _identity(model, symmetry)
        if data["identity"] != mine:
            theirs = list(data["identity"])
            pairs = zip(theirs, mine, strict=False)  # a shorter list differs where it ends
            where = next((i for i, (a, b) in enumerate(pairs) if a != b),
                         min(len(theirs), len(mine)))

            def shown(values: list[Any]) -> str:
                return str(values[where]) if where < len(values) else "(nothing)"

            raise UsageError(f"{path} is a checkpoint of a different search: it has "
                             f"{shown(theirs)} where this search has {shown(mine)}")
        levels = Levels([Level.from_bytes(level) for level in data["levels"]])
        next_level = Level.from_bytes(data["next_level"])
        seen = FingerprintSet()
        for level in (*levels, next_level):
            seen.update(level.fps)

        def states(encodings: list[Any]) -> StateQueue:
            queue = new_queue(model, encoded)
            for encoding in encodings:
                state = model.decode(encoding)  # each must be one the model reads
                queue.append(encoding if encoded else state)
            return queue

        frontier, next_frontier = data["frontier"], data["next_frontier"]
        position, generated, seconds = data["position"], data["generated"], data["seconds"]
        consistent = (
            isinstance(frontier, list) and isinstance(next_frontier, list)
            and isinstance(position, int) and isinstance(generated, int)
            and isinstance(seconds, (int, float))
            and len(frontier) == len(levels.last.fps)  # one state per fingerprint of a level
            and len(next_frontier) == len(next_level.fps)
            and 0 <= position <= len(frontier)
            and all(isinstance(goal, str) for goal in data["goals"]))
        if not consistent:
            raise ValueError("its frontier, levels and counters do not agree")

        return cls(model, symmetry, levels, states(data["frontier"]), next_level,
                   states(data["next_frontier"]), data["position"], seen, data["generated"],
                   set(data["goals"]), [(name, list(path)) for name, path in data["found"]],
                   data["seconds"], encoded)


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


def _digest(payload: bytes) -> str:
    return hashlib.blake2b(payload, digest_size=16).hexdigest()


def _identity(model: AnyModel, symmetry: bool) -> list[Any]:
    """What a checkpoint must match to be resumed: the same core, world, bounds, reduction."""
    return [*model.identity(), model.symmetric(symmetry)]
