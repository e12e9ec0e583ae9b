"""`raftcheck break` on the command line: its exit codes and its JSON report.

What these protect: exit 0 only when every engine caught every bug asked for, with the
property each caught it by in the report; bad usage is one line and exit 2 (an unknown bug,
an unknown engine, a non-positive budget or worker count), never a traceback."""

from __future__ import annotations

import json

import pytest

from raftcheck.model.cli import main
from raftcheck.model.verdict import Exit, Verdict


def test_every_engine_catches_the_chosen_bugs_and_says_how(
        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["break", "quorum-off-by-one", "two-votes-per-term", "--seed", "0",
                 "--workers", "2", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == Verdict.ALL_CAUGHT.exit_code and report["all_caught"] and report["seed"] == 0
    for bug in report["bugs"]:
        for engine in ("exhaustive", "hypothesis"):
            assert bug[engine]["found"], (bug["bug"], engine)
            assert bug[engine]["property"] == bug["expected_property"]
        assert bug["exhaustive"]["length"] == bug["expected_shortest"]
    assert all(report["correct_core_scenarios"].values())


@pytest.mark.parametrize(("args", "message"), [
    (["no-such-bug"], "unknown bug 'no-such-bug'"),
    (["--engines", "tlc"], "--engines takes exhaustive, hypothesis or both"),
    (["--fuzz-seconds", "0"], "--fuzz-seconds must be positive"),
    (["--workers", "0"], "--workers must be at least 1"),
])
def test_bad_usage_is_one_line_and_exit_2(args: list[str], message: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["break", *args]) == Exit.USAGE
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
