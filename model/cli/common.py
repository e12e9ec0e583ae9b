"""What every subcommand's command line shares: the parser that exits 2 on bad usage, and
the seed a run draws when none is given."""

from __future__ import annotations

import argparse
import random
from typing import NoReturn

from raftcheck.model.verdict import Exit


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(Exit.USAGE, f"raftcheck: error: {message}\n")


def resolve_seed(seed: int | None) -> int:
    """A run without --seed still has one: drawn here and printed, so it can be replayed."""
    return random.SystemRandom().randrange(2**32) if seed is None else seed
