"""`raftcheck ... | head`: a reader that leaves early gets no traceback on stderr; the command
exits 3 (its report was cut short), never 1 (the code for a violation)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("argv", [["break", "--list"], ["--list-cores"],
                                  ["break", "--show", "quorum-off-by-one"]])
def test_a_closed_pipe_is_not_a_traceback(argv: list[str]) -> None:
    code = "import sys; from raftcheck.model.cli import main; sys.exit(main(sys.argv[1:]))"
    process = subprocess.Popen([sys.executable, "-c", code, *argv], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, bufsize=0)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.read(1)  # the first byte, then hang up
    process.stdout.close()
    err = process.stderr.read().decode()
    returncode = process.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert returncode in (0, 3)
