"""`raftcheck prove` on the command line: exit codes and usage errors (one line, exit 2)."""

from __future__ import annotations

import json

import pytest

from raftcheck.model.cli import main


def test_helpers_prove_equal(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", "--helpers"]) == 0
    out = capsys.readouterr().out
    assert "EQUAL up to the bound" in out and "brute force" in out


def test_lemmas_are_listed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", "--lemmas"]) == 0
    out = capsys.readouterr().out
    assert "Election Safety" in out and "[auxiliary]" in out


@pytest.mark.parametrize("argv", [
    ["prove", "--drop", "no such lemma"],
    ["prove", "--nodes", "0"],
    ["prove", "--max-messages", "1"],
    ["prove", "--core", "nonsense"],
    ["prove", "--core", "count-duplicate-votes"],  # a zoo bug the encoding cannot express
    ["prove", "--nodes", "x"],
])
def test_bad_usage_is_one_line_and_exit_2(argv: list[str],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        code = main(argv)
        raise SystemExit(code)
    assert raised.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_a_broken_core_exits_1_with_the_cti(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["prove", "--core", "quorum-off-by-one", "--nodes", "3", "--max-term", "1",
                 "--max-log", "1", "--max-messages", "2", "--first-cti", "--json"])
    assert code == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["verdict"] == "not inductive"
    assert summary["ctis"] and "Counterexample to induction" in summary["ctis"][0]["trace"]


def test_tiny_sizes_prove_and_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["prove", "--nodes", "3", "--max-term", "1", "--max-log", "1",
                 "--max-messages", "2"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "INDUCTIVE for 3/1/1" in out


def test_a_zoo_bug_that_cannot_be_encoded_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", "--core", "count-duplicate-votes"]) == 2
    err = capsys.readouterr().err
    assert "cannot be encoded" in err and "duplicat" in err


def test_a_zoo_name_selects_its_rule_set(capsys: pytest.CaptureFixture[str]) -> None:
    """Truncation on a heartbeat: the first CTI is at the AppendEntries delivery."""
    code = main(["prove", "--core", "truncate-on-stale-append", "--nodes", "3", "--max-term",
                 "1", "--max-log", "1", "--max-messages", "2", "--first-cti", "--json"])
    assert code == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["core"] == "truncate-on-stale-append"
    assert [c["action"] for c in summary["ctis"]] == ["Deliver(AppendEntries)"]
