"""Fuzzing the trace loader: generated malformed files (truncations, mutated and deleted
fields, values of the wrong type, wrong schema versions, node ids out of range, random JSON,
random bytes) must give `TraceFileError` with a one-line message from `parse_trace`, and exit 2
with one line on stderr from `raftcheck replay`, never another exception. 1,200 files go to
the loader, 300 more that must fail, and 250 through the CLI (a mutation can happen to leave
a valid file: then it must load, and replay must end with an ordinary exit code)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from raftcheck.model.cli import main
from raftcheck.model.tracefile import TraceFile, TraceFileError, parse_trace

CORPUS = sorted((Path(__file__).parent.parent / "regressions").glob("*.json"))
TEXTS = [path.read_text(encoding="utf-8") for path in CORPUS]
SMALL = [text for text in TEXTS if len(json.loads(text)["actions"]) <= 14]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=3),
    max_leaves=6)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a JSON document."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_paths(value, (*prefix, index)))
    return found


def _set(document: Any, path: tuple[Any, ...], value: Any, delete: bool = False) -> None:
    for key in path[:-1]:
        document = document[key]
    if delete:
        del document[path[-1]]
    else:
        document[path[-1]] = value


@st.composite
def truncated(draw: st.DrawFn) -> bytes:
    text = draw(st.sampled_from(TEXTS)).rstrip()
    return text[:draw(st.integers(0, len(text) - 1))].encode()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A corpus file with one value replaced (by any JSON, often of the wrong type) or one
    field deleted."""
    document = json.loads(draw(st.sampled_from(SMALL)))
    path = draw(st.sampled_from(_paths(document)))
    if draw(st.booleans()):
        _set(document, path, draw(json_values))
    else:
        _set(document, path, None, delete=True)
    return json.dumps(document).encode()


@st.composite
def wrong_schema(draw: st.DrawFn) -> bytes:
    document = json.loads(draw(st.sampled_from(SMALL)))
    version = draw(json_values.filter(lambda v: not (type(v) is int and v == 1)))
    document["schema"] = version
    return json.dumps(document).encode()


@st.composite
def nodes_out_of_range(draw: st.DrawFn) -> bytes:
    """Actions naming nodes the cluster does not have."""
    document = json.loads(draw(st.sampled_from(SMALL)))
    n = document["config"]["cluster_size"]
    index = draw(st.integers(0, len(document["actions"]) - 1))
    action = document["actions"][index]
    bad = draw(st.integers(n, 2**40) | st.integers(-2**40, -1))
    if "message" in action:
        action["message"][draw(st.sampled_from(["source", "dest"]))] = bad
    elif "node" in action:
        action["node"] = bad
    else:
        document["actions"][index] = {"kind": "Crash", "node": bad}
    return json.dumps(document).encode()


@st.composite
def byte_flips(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SMALL)).encode())
    for _ in range(draw(st.integers(1, 4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


MUST_FAIL = st.one_of(truncated(), wrong_schema(), nodes_out_of_range())
MALFORMED = st.one_of(
    truncated(), mutated(), wrong_schema(), nodes_out_of_range(), byte_flips(),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=200))


def _check_loader(data: bytes) -> TraceFile | None:
    try:
        return parse_trace(data)
    except TraceFileError as error:
        message = str(error)
        assert message and "\n" not in message and len(message) < 400, message
        return None


@settings(max_examples=1200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(MALFORMED)
def test_loader_rejects_malformed_files_in_one_line(data: bytes) -> None:
    _check_loader(data)


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(MUST_FAIL)
def test_truncations_wrong_schemas_and_unknown_nodes_always_fail(data: bytes) -> None:
    assert _check_loader(data) is None


def _no_imports(data: bytes) -> bytes:
    """A mutated core spec `module:object` would make replay import whatever module it names
    (user cores are loaded that way); keep the fuzzing away from importing the standard
    library at random."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return data
    core = document.get("core") if isinstance(document, dict) else None
    if isinstance(core, dict) and isinstance(core.get("spec"), str) and ":" in core["spec"]:
        core["spec"] = "raft"
        return json.dumps(document).encode()
    return data


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("malformed")


@settings(max_examples=250, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=MALFORMED)
def test_replay_cli_exits_2_in_one_line(work: Path, data: bytes) -> None:
    data = _no_imports(data)
    path = work / "trace.json"
    path.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["replay", str(path)])
    if _check_loader(data) is None:
        assert code == 2, (code, out.getvalue()[-500:], err.getvalue())
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and lines[0].startswith("raftcheck replay: error: "), lines
    else:  # the mutation left a valid trace: it replays to an ordinary verdict or exit 2
        assert code in (0, 1, 2, 3), (code, err.getvalue())  # (2: e.g. an unknown core)
        if code == 2:
            assert len(err.getvalue().splitlines()) == 1, err.getvalue()
