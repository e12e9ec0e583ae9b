"""The pytest plugin: a user's own test file checks a core in a few lines, and a broken core
fails that test with the rendered counterexample, not a traceback into raftcheck.

Each case writes a small test file and runs pytest on it in-process (pytester), with the
plugin loaded by its installed `pytest11` entry point, or by `-p` when raftcheck was installed
before the plugin existed; a separate test checks the entry point's declaration.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
INSTALLED = any(e.name == "raftcheck" for e in entry_points(group="pytest11"))
# The installed entry point loads the plugin by itself; otherwise load it by module name.
PLUGIN = [*([] if INSTALLED else ["-p", "raftcheck.model.pytest_plugin"]), "-p", "no:cacheprovider",
          "-q"]


def run(pytester: pytest.Pytester, source: str) -> pytest.RunResult:
    pytester.makepyfile(test_user=source)
    return pytester.runpytest(*PLUGIN)


def test_a_good_core_passes_in_a_few_lines(pytester: pytest.Pytester) -> None:
    result = run(pytester, '''
def test_my_core(raftcheck):
    raftcheck.fuzz("raft", examples=20, steps=20, require_goals=False)
    raftcheck.explore("raft", max_term=1, max_messages=3)
    raftcheck.diff("raft", "raftcheck.impl.refactors:MEDIAN_COMMIT", max_messages=2,
                   engine="exhaustive")
''')
    result.assert_outcomes(passed=1)


def test_a_broken_core_fails_with_its_trace(pytester: pytest.Pytester) -> None:
    result = run(pytester, '''
def test_fuzz(raftcheck):
    raftcheck.fuzz("two-votes-per-term", examples=100, seed=1)

def test_explore(raftcheck):
    raftcheck.explore("quorum-off-by-one")

def test_diff(raftcheck):
    raftcheck.diff("raft", "raftcheck.impl.refactors:MEDIAN_COMMIT_OFF_BY_ONE", engine="exhaustive")
''')
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines([
        "*Single Vote Per Term found by raftcheck fuzz (seed 1):*",
        "*✗ Single Vote Per Term violated after step 3*",
        "*result: VIOLATION*",
        "*✗ Elected By Majority violated after step 1*",
        "*First divergence after 4 steps*",
        "*n0: commit_index 0 (OLD) vs 1 (NEW)*",
    ])
    result.stdout.no_fnmatch_line("*model/fuzz.py*")  # no traceback into raftcheck


def test_a_core_that_crashes_is_a_failed_test(pytester: pytest.Pytester) -> None:
    bad = ROOT / "tests" / "cores" / "bad_cores.py"
    result = run(pytester, f'''
def test_crashing_core(raftcheck):
    raftcheck.explore("{bad}:RAISING_STEP")
''')
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*✗ Core Fault at step 2: core 'raising-step'*"])


def test_raftcheck_core_fixture_follows_the_environment(pytester: pytest.Pytester,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    pytester.makepyfile(test_env='''
def test_which(raftcheck_core):
    assert raftcheck_core.name == "my-core"
''')
    monkeypatch.setenv("RAFTCHECK_CORE", "examples.my_core:CORE")
    monkeypatch.chdir(ROOT)  # `examples` is importable from the repository root
    result = pytester.runpytest(*PLUGIN, str(pytester.path / "test_env.py"))
    result.assert_outcomes(passed=1)
    monkeypatch.setenv("RAFTCHECK_CORE", "no.such:CORE")
    result = pytester.runpytest(*PLUGIN, str(pytester.path / "test_env.py"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*RAFTCHECK_CORE=no.such:CORE: cannot import core module*"])


def test_entry_point_is_declared() -> None:
    text = (ROOT / "pyproject.toml").read_text()  # no tomllib: Python 3.10 is supported
    section = text.split("[project.entry-points.pytest11]\n", 1)[1].split("\n[", 1)[0]
    assert 'raftcheck = "raftcheck.model.pytest_plugin"' in section
    installed = {e.name: e.value for e in entry_points(group="pytest11")}
    if INSTALLED:  # absent only in an install from before the plugin existed
        assert installed["raftcheck"] == "raftcheck.model.pytest_plugin"
