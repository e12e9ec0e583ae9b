"""Trace files: what is written reads back equal, bad files are one-line errors, and an
existing file is never replaced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from raftcheck.impl.types import AppendEntries, AppendEntriesResponse, Entry, Put, RequestVote
from raftcheck.model.tracefile import (
    SCHEMA_VERSION,
    TRACE_DIR_ENV,
    CoreIdentity,
    TraceFile,
    TraceFileError,
    default_trace_path,
    dump_trace,
    load_trace,
    parse_trace,
    save_trace,
    save_trace_fresh,
)
from raftcheck.model.world import (
    Bounds,
    Config,
    Crash,
    Deliver,
    Drop,
    Duplicate,
    Heal,
    Heartbeat,
    Partition,
    Restart,
    Submit,
    Tick,
    Timeout,
)
from raftcheck.properties.violation import Violation

CORPUS = sorted((Path(__file__).parent.parent / "regressions").glob("*.json"))

EVERY_KIND = TraceFile(
    core=CoreIdentity("raft", "raft"), engine="test", seed=7,
    config=Config(cluster_size=5, timing="timed", seed=3),
    bounds=Bounds(max_crashes=None, duplicate=True),
    violation=Violation("Election Safety", "two leaders", "why", (0, 4), 2, 1),
    actions=(
        Timeout(0), Heartbeat(1), Submit(2, 1, "y"), Crash(3), Restart(3),
        Partition(frozenset({1, 4})), Heal(), Tick(),
        Deliver(RequestVote(0, 1, 1, 0, 0)),
        Drop(AppendEntries(0, 2, 1, 0, 0, (Entry(1, Put("x", 1)),), 0)),
        Duplicate(AppendEntriesResponse(2, 0, 1, False, 0, 3)),
    ),
    metadata={"examples": 3, "nested": {"list": [1, "two", None]}},
)


def test_every_action_and_message_kind_round_trips() -> None:
    text = dump_trace(EVERY_KIND)
    assert parse_trace(text) == EVERY_KIND
    document = json.loads(text)
    assert document["schema"] == SCHEMA_VERSION
    assert document["format"] == "raftcheck-trace"
    assert document["actions"][8] == {"kind": "Deliver", "message": {
        "kind": "RequestVote", "source": 0, "dest": 1, "term": 1, "last_log_index": 0,
        "last_log_term": 0}}
    assert document["actions"][5] == {"kind": "Partition", "isolated": [1, 4]}
    # one action per line: a trace file diffs step by step
    assert sum(line.lstrip().startswith('{"kind"') for line in text.splitlines()) == 11


@pytest.mark.parametrize("path", CORPUS, ids=[path.stem for path in CORPUS])
def test_corpus_files_round_trip_byte_for_byte(path: Path) -> None:
    assert dump_trace(load_trace(path)) == path.read_text(encoding="utf-8")


def test_save_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "trace.json"
    assert save_trace(target, EVERY_KIND) == target
    before = target.read_bytes()
    with pytest.raises(TraceFileError, match="already exists"):
        save_trace(target, EVERY_KIND)
    assert target.read_bytes() == before


def test_save_fresh_picks_a_new_name(tmp_path: Path) -> None:
    target = tmp_path / "t.json"
    paths = [save_trace_fresh(target, EVERY_KIND) for _ in range(3)]
    assert [p.name for p in paths] == ["t.json", "t-2.json", "t-3.json"]
    assert all(load_trace(p) == EVERY_KIND for p in paths)


def test_save_into_an_unwritable_place_is_a_trace_file_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(TraceFileError, match="cannot write"):
        save_trace_fresh(blocker / "t.json", EVERY_KIND)


def test_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(TRACE_DIR_ENV, str(tmp_path))
    assert default_trace_path("fuzz", "quorum-off-by-one", 5) == \
        tmp_path / "fuzz-quorum-off-by-one-5.json"
    odd = default_trace_path("explore", "my/core name", None)
    assert odd.parent == tmp_path and odd.name.startswith("explore-my_core_name-2")
    monkeypatch.delenv(TRACE_DIR_ENV)
    assert default_trace_path("fuzz", "raft", 1) == Path("raftcheck-traces/fuzz-raft-1.json")


def _mutated(change: str) -> str:
    document = json.loads(dump_trace(EVERY_KIND))
    exec(change, {"d": document})  # a one-statement edit of the document
    return json.dumps(document)


@pytest.mark.parametrize(("change", "message"), [
    ("d.pop('schema')", "no 'schema' version field"),
    ("d['schema'] = 2", "schema version 2 is not supported"),
    ("d['schema'] = '1'", "schema version must be an integer"),
    ("d['format'] = 'other'", "'format' is not"),
    ("d['actions'][0]['kind'] = 'Sleep'", "unknown action kind 'Sleep' .* @ \\$.actions\\[0\\]"),
    ("d['actions'][8]['message']['kind'] = 'Hello'", "unknown message kind 'Hello'"),
    ("d['actions'][0].pop('kind')", "action without a 'kind'"),
    ("d['actions'][0]['node'] = 5", "\\$.actions\\[0\\].node: node n5 does not exist in a "
                                    "cluster of 5"),
    ("d['actions'][0]['node'] = -1", "node n-1 does not exist"),
    ("d['actions'][8]['message']['dest'] = 9", "message.dest: node n9 does not exist"),
    ("d['actions'][8]['message']['dest'] = 0", "n0 sends to itself"),
    ("d['actions'][5]['isolated'] = [7]", "isolated: node n7 does not exist"),
    ("d['violation']['nodes'] = [8]", "violation.nodes: node n8"),
    ("d['actions'][0]['node'] = '0'", "expected an integer, got a string @ "
                                      "\\$.actions\\[0\\].node"),
    ("d['actions'][0]['node'] = 0.0", "expected an integer, got a number"),
    ("d['actions'][0]['node'] = True", "expected an integer, got a boolean"),
    ("d['actions'][5]['isolated'] = '14'", "expected a list, got a string"),
    ("d['actions'] = {}", "expected a list, got an object @ \\$.actions"),
    ("d['config']['timing'] = 'fast'", "expected one of 'untimed', 'timed'"),
    ("d['config']['cluster_size'] = 0", "cluster_size must be between 1 and 9"),
    ("d['config']['election_timeout_ms'] = [1, 2, 3]", "expected a list of 2 items"),
    ("d['bounds']['drop'] = 1", "expected true or false"),
    ("d['violation'] = 'bad'", "expected a Violation object, got a string"),
    ("d['core'] = None", "expected a CoreIdentity object, got null"),
    ("d['metadata'] = []", "expected an object, got a list @ \\$.metadata"),
    ("d['surprise'] = 1", "extra fields found \\(surprise\\)"),
    ("d.pop('actions')", "required field missing @ \\$.actions"),
])
def test_bad_fields_are_one_line_errors(change: str, message: str) -> None:
    with pytest.raises(TraceFileError, match=message) as caught:
        parse_trace(_mutated(change))
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty file"),
    ("[1, 2]", "the top level is a list"),
    (b"\xff\xfe{}", "not UTF-8"),
    ("[" * 100_000, "nested too deeply"),
    ('{"schema": 1, "actions": [', "not valid JSON \\(truncated\\?\\)"),
])
def test_not_a_trace_at_all(text: str | bytes, message: str) -> None:
    with pytest.raises(TraceFileError, match=message):
        parse_trace(text)


def test_truncated_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text(dump_trace(EVERY_KIND)[:200])
    with pytest.raises(TraceFileError, match=f"^{path}: not valid JSON \\(truncated\\?\\)"):
        load_trace(path)
    with pytest.raises(TraceFileError, match="cannot read"):
        load_trace(tmp_path / "missing.json")
    with pytest.raises(TraceFileError, match="cannot read"):
        load_trace(tmp_path)


@pytest.mark.parametrize("where", ["", " ", ".", "./", "dir", "dir/", "/dev/null"])
def test_save_handles_directories_and_odd_names(where: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """`--save DIR` saves inside DIR (as `break --save DIR` does); an empty name or a device is
    a one-line error; nothing lands beside the given path under a made-up name."""
    from raftcheck.model.tracefile import TraceFileError, save_counterexample

    monkeypatch.chdir(tmp_path)
    (tmp_path / "dir").mkdir()
    trace = load_trace(Path(__file__).resolve().parents[1] / "regressions"
                       / "quorum-off-by-one.json")
    if where.strip() in ("", "/dev/null"):
        with pytest.raises(TraceFileError, match=r"needs a file|not a regular file"):
            save_counterexample(trace, where)
        assert not Path("/dev/null-2.json").exists()
        return
    saved = save_counterexample(trace, where)
    assert saved.parent.resolve() == (tmp_path / where.strip("/")).resolve()
    assert saved.name.startswith(f"{trace.engine}-") and load_trace(saved) == trace
