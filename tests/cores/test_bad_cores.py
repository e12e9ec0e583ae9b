"""A core that breaks the core protocol gets a one-line diagnosis naming the core, the call
and the action, reported as a finding with its trace (exit 1), never a suite traceback; a
core that cannot be loaded at all is bad input (exit 2, one line on stderr).

The bad cores live in bad_cores.py beside this file and are loaded by file path, as a
user's core outside any package would be.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from raftcheck.impl.raft import CORE
from raftcheck.model.cli import main
from raftcheck.model.cores import CoreLoadError, load_core
from raftcheck.model.diff import diff
from raftcheck.model.explore import explore
from raftcheck.model.fuzz import fuzz
from raftcheck.model.stateful import FUZZ_BOUNDS
from raftcheck.model.verdict import Verdict
from raftcheck.model.world import CORE_FAULT, Config, CoreFault, Model, Timeout

HERE = Path(__file__).resolve().parent
BAD = f"{HERE / 'bad_cores.py'}"

# core object, the shortest failing run's length, the one-line diagnosis (its stable part)
FAULTS = [
    ("RAISING_STEP", 2, "core 'raising-step': step(n1, RequestVote n0→n1 term=1) raised "
                        "ZeroDivisionError"),
    ("WRONG_RETURN", 1, "core 'wrong-return': step(n0, ElectionTimeout) returned a Node "
                        "alone, not a (Node, Effects) pair"),
    ("MUTATING_STEP", 1, "core 'mutating-step': step(n0, ElectionTimeout) mutated its input"),
    ("WRONG_NODE_ID", 1, "core 'wrong-node-id': step(n0, ElectionTimeout) returned a Node "
                         "with id=1"),
    ("RAISING_INITIAL_NODE", 0, "core 'raising-initial-node': initial_node(n0) raised "
                                "RuntimeError: no config file"),
    ("RAISING_RESTART", 2, "core 'raising-restart': restart(n0) raised KeyError: 'log'"),
]


def anonymous(text: str) -> str:
    return re.sub(r"(\bn|id=)\d", r"\1?", text)


@pytest.mark.parametrize(("obj", "steps", "message"), FAULTS, ids=[f[0] for f in FAULTS])
def test_fuzz_reports_the_fault_as_a_finding(obj: str, steps: int, message: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fuzz", "--core", f"{BAD}:{obj}", "--seed", "1", "--examples", "30",
                 "--no-progress", "--no-save"])
    out, err = capsys.readouterr()
    assert code == 1, err
    assert err == ""
    last = out.strip().splitlines()[-1]
    # Which node the shrunk run fails on depends on the random run; the rest is fixed.
    assert anonymous(last).startswith(anonymous(f"CORE FAULT at step {steps}: {message}"))
    assert "Traceback" not in out


@pytest.mark.parametrize(("obj", "steps", "message"), FAULTS, ids=[f[0] for f in FAULTS])
def test_explore_reports_the_shortest_run_to_the_fault(
        obj: str, steps: int, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["explore", "--core", f"{BAD}:{obj}", "--max-crashes", "1", "--no-save"])
    out, err = capsys.readouterr()
    assert code == 1, err
    assert "result: VIOLATION (search stopped: core fault)" in out
    where = f"at step {steps}" if steps else "building the initial state"
    assert f"✗ {CORE_FAULT} {where}: {message}" in out
    assert "Traceback" not in out + err


def test_parallel_explore_and_the_api_carry_the_fault() -> None:
    model = Model(load_core(f"{BAD}:RAISING_STEP"), Config())
    result = explore(model, workers=2)
    assert result.verdict is Verdict.VIOLATION and result.exit_code == 1
    (found,) = result.violations
    assert found.property == CORE_FAULT and len(found.actions) == 2 and found.shortest
    fuzzed = fuzz(Model(load_core(f"{BAD}:RAISING_STEP"), Config(), FUZZ_BOUNDS), seed=1,
                  examples=30)
    assert fuzzed.violation is not None and fuzzed.violation.property == CORE_FAULT
    assert len(fuzzed.actions) == 2 and len(fuzzed.violation.nodes) == 1


@pytest.mark.parametrize(("spec", "message"), [
    (f"{HERE / 'unimportable_core.py'}:CORE", "cannot import core module "),
    ("no_such_module_anywhere:CORE", "No module named 'no_such_module_anywhere'"),
    (f"{HERE / 'no_such_file.py'}:CORE", "no such core file"),
    (f"{BAD}:NO_SUCH_OBJECT", "has no attribute 'NO_SUCH_OBJECT'"),
    (f"{BAD}:MISSING_STEP", "missing callable step"),
    (f"{BAD}:WRONG_ARITY", "cannot be called as step(node, event)"),
    (f"{BAD}:NOT_A_CORE", "no string attribute 'name'"),
    ("not-a-core-name", "unknown core 'not-a-core-name'"),
])
@pytest.mark.parametrize("command", ["fuzz", "explore", "check"])
def test_unusable_core_is_one_line_and_exit_2(spec: str, message: str, command: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code = main([command, "--core", spec])
    out, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert out == ""


def test_checked_mode_is_on_for_outside_cores_only() -> None:
    assert not Model(CORE).checking
    assert Model(load_core(f"{BAD}:MUTATING_STEP")).checking
    assert Model(CORE, checked=True).checking
    # Unchecked, the in-place mutation goes unnoticed; checked, it is a CoreFault.
    mutating = load_core(f"{BAD}:MUTATING_STEP")
    Model(mutating, checked=False).run([Timeout(0)])
    with pytest.raises(CoreFault, match="mutated its input"):
        Model(mutating).run([Timeout(0)])


def test_diff_reports_a_core_that_fails_as_a_divergence() -> None:
    result = diff(CORE, load_core(f"{BAD}:RAISING_STEP"), engine="exhaustive")
    assert result.divergence is not None and len(result.divergence.actions) == 2
    assert result.divergence.detail[0].startswith("NEW fails: core 'raising-step'")


def test_load_core_accepts_file_paths_and_classes() -> None:
    core = load_core(f"{BAD}:RaisingStep")  # a class is instantiated
    assert core.name == "raising-step"
    with pytest.raises(CoreLoadError):
        load_core(f"{BAD}:")
