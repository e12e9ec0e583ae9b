"""The README's worked example of a user core (examples/my_core.py) runs under every engine
from the command line, exactly as documented, and is equivalent to the bundled core."""

from __future__ import annotations

import pytest

from raftcheck.impl.raft import CORE
from raftcheck.model.cli import main
from raftcheck.model.cores import load_core
from raftcheck.model.diff import diff
from raftcheck.model.verdict import Verdict
from raftcheck.model.world import Bounds

SPEC = "examples.my_core:CORE"  # importable from the repository root, as the README runs it


def test_fuzz_runs_the_example_core(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fuzz", "--core", SPEC, "--seed", "1", "--examples", "50", "--no-progress",
                 "--no-save"])
    out, _ = capsys.readouterr()
    assert "core=my-core" in out
    assert "VIOLATION" not in out and "CORE FAULT" not in out
    assert code in (0, 3)  # clean, or clean but some goal unreached in this small budget
    assert "goal ✓ entry committed" in out


def test_explore_runs_the_example_core(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["explore", "--core", SPEC, "--max-messages", "3", "--no-save"])
    out, _ = capsys.readouterr()
    assert code == 0, out
    assert "result: PASS" in out


def test_the_example_core_is_the_bundled_core_in_other_clothes() -> None:
    """Differently structured, same behaviour: no divergence, even in the messages, on any
    schedule of one term (exhaustive) or in 20 random schedules."""
    bounds = Bounds(max_term=1, max_log=1, values=1, max_messages=3, max_crashes=0,
                    max_partitions=0, drop=False, duplicate=False)
    result = diff(CORE, load_core(SPEC), level="messages", bounds=bounds, examples=20)
    assert result.verdict is Verdict.EQUIVALENT, result.divergence
    assert result.complete and result.pairs > 2000
