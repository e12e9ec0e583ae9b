"""What every subcommand's command line shares: the parser that exits 2 on bad usage, and
the seed a run draws when none is given."""

from __future__ import annotations

import argparse
import os
import random
from pathlib import Path
from typing import NoReturn

from raftcheck.model.verdict import Exit, UsageError


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(Exit.USAGE, f"raftcheck: error: {message}\n")


def resolve_seed(seed: int | None) -> int:
    """A run without --seed still has one: drawn here and printed, so it can be replayed."""
    return random.SystemRandom().randrange(2**32) if seed is None else seed


def refuse_to_overwrite(path: str | os.PathLike[str] | None, force: bool) -> None:
    """An output path that exists is a usage error unless --force: nothing a user saved is
    replaced by accident (checked before the work, not after it)."""
    if path is not None and not force and Path(path).exists():
        raise UsageError(f"{path} exists: not overwriting it (--force replaces it)")


def write_new(path: str | os.PathLike[str], text: str, force: bool) -> None:
    """Write `text` to `path` through a temporary file moved into place, so a reader never
    sees half a file and a failed write leaves the old one; refuses an existing `path`
    unless `force`. Raises UsageError with a one-line reason."""
    refuse_to_overwrite(path, force)
    target = Path(path)
    temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, target)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from None


def add_force_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true",
                        help="replace an existing output file (default: refuse)")
