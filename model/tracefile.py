"""Trace files: counterexamples a person can keep, replay, shrink and render.

A trace file is JSON with a schema version, written and read through one cattrs converter
(attrs classes are (un)structured field by field; the two union types, `Action` and `Message`,
are tagged by class name in a `"kind"` field). It holds everything needed to re-run the trace:
the world's `Config` and `Bounds`, the seed, the core (the spec given to `--core` and its
`name`), the engine that found it, the action list and the violation (None for a clean trace),
plus free-form `metadata` (engine statistics, the expected outcome of a regression).

    {"format": "raftcheck-trace", "schema": 1, "engine": "fuzz",
     "core": {"spec": "quorum-off-by-one", "name": "quorum-off-by-one"}, "seed": 1,
     "config": {...}, "bounds": {...},
     "actions": [{"kind": "Timeout", "node": 0},
                 {"kind": "Deliver", "message": {"kind": "RequestVote", "source": 0, ...}}],
     "violation": {"property": "Leader Completeness", "detail": ..., ...},
     "metadata": {...}}

A lasso, the exhaustive liveness search's counterexample, adds `"loop": k`: the actions
after the first k form a cycle that returns to the state after step k and repeats for ever.

The API is small on purpose (engines, `raftcheck replay`, `raftcheck break` and the regression
tests all use it):

* `TraceFile` / `CoreIdentity`: the contents; `TraceFile.model(core)` is the world to replay in.
* `dump_trace(trace) -> str` / `parse_trace(text) -> TraceFile`: in memory.
* `save_trace(path, trace)`: write a new file, refusing to replace one (`TraceFileError`).
* `save_trace_fresh(path, trace) -> Path`: write to `path`, or to `stem-2.json`, `stem-3.json`...
  if taken; what engines use, so a counterexample is never lost nor an old one overwritten.
* `default_trace_path(engine, core, seed)`: `./raftcheck-traces/<engine>-<core>-<seed>.json`
  (the directory can be moved with the RAFTCHECK_TRACE_DIR environment variable).
* `load_trace(path) -> TraceFile`.

Everything wrong with a file (unreadable, not UTF-8, not JSON, truncated, no or another schema
version, unknown action or message kinds, fields of the wrong type, extra fields, actions that
name nodes outside the cluster) is a `TraceFileError` whose message is one line saying where
(`$.actions[3].message.dest`) and what, so the CLI can print it and exit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import attrs
import cattrs
from attrs import field, frozen
from cattrs.errors import IterableValidationError, IterableValidationNote
from cattrs.gen import make_dict_structure_fn
from cattrs.preconf.json import make_converter

from raftcheck.impl.types import (
    MESSAGE_TYPES,
    AppendEntries,
    AppendEntriesResponse,
    Message,
    RequestVote,
    RequestVoteResponse,
)
from raftcheck.model.world import (
    Action,
    Bounds,
    Config,
    Crash,
    Deliver,
    Drop,
    Duplicate,
    Heal,
    Heartbeat,
    Model,
    Partition,
    Restart,
    Submit,
    Tick,
    Timeout,
)
from raftcheck.properties import ALL_PROPERTIES, LIVENESS, RAFT_PROPERTIES, with_liveness
from raftcheck.properties.violation import Violation

FORMAT = "raftcheck-trace"
# The format of the PySyncObj adapter's records (model/adapters/pysyncobj_fuzz.py): a live
# library's run, replayed by the adapter, never by `raftcheck replay`.
PYSYNCOBJ_FORMAT = "raftcheck-pysyncobj-trace"
RAFTOS_FORMAT = "raftcheck-raftos-trace"  # the raftos adapter's (model/adapters/raftos_fuzz.py)
SCHEMA_VERSION = 1  # bump on any change a version-1 reader would misread
TRACE_DIR_ENV = "RAFTCHECK_TRACE_DIR"
DEFAULT_TRACE_DIR = "raftcheck-traces"

ACTION_TYPES: tuple[type, ...] = (Deliver, Drop, Duplicate, Timeout, Heartbeat, Submit, Crash,
                                  Restart, Partition, Heal, Tick)
_MESSAGE_TYPES: tuple[type, ...] = (RequestVote, RequestVoteResponse, AppendEntries,
                                    AppendEntriesResponse)  # the paper's order
assert frozenset(_MESSAGE_TYPES) == MESSAGE_TYPES


class TraceFileError(Exception):
    """A trace file that cannot be used. `str(error)` is one line: where and what."""


@frozen
class CoreIdentity:
    """Which core a trace was found on: `spec` as given to `--core` (what `load_core` takes
    back) and the core's own `name` (what reports print)."""

    spec: str
    name: str


@frozen
class TraceFile:
    """One saved trace. `violation` is what the engine saw at the end of `actions` (None for a
    clean trace); `seed` is the engine's seed if it had one. `metadata` holds JSON values only
    (numbers, strings, lists, objects), never anything a replay depends on."""

    core: CoreIdentity
    engine: str
    seed: int | None
    config: Config
    bounds: Bounds
    violation: Violation | None
    actions: tuple[Action, ...]
    metadata: Mapping[str, Any] = field(factory=dict)
    # Properties the engine was told to ignore (`--ignore`, or those already reported by a
    # `--continue` run): a replay ignores them too, or it could stop at one of them first.
    # Written only when there are any.
    ignored: tuple[str, ...] = ()
    # A lasso (found by the exhaustive liveness search): the number of steps before its
    # cycle; the steps from there on return to the state after step `loop` and repeat for
    # ever. Written only for a lasso.
    loop: int | None = None

    def model(self, core: Any) -> Model:
        """The world this trace runs in, around `core` (the recorded one or another); with
        the progress properties when the recorded violation is one (found by the
        stabilisation phase after the actions, which replay runs again); without the
        properties the run ignored."""
        progress = self.violation is not None and \
            self.violation.property in LIVENESS.names
        chosen = with_liveness(self.config.timing == "timed") if progress else RAFT_PROPERTIES
        return Model(core, self.config, self.bounds, properties=chosen.ignoring(self.ignored))


# ------------------------------------------------------------------------------ the converter


class _Invalid(ValueError):
    """A validation failure whose message is already the one to show."""


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _strict(kind: type, name: str) -> Callable[[Any, Any], Any]:
    """JSON gives exactly the type, or the file is wrong: no "3" or 3.0 or true for an int."""
    def structure(value: Any, _: Any) -> Any:
        if type(value) is not kind:
            raise _Invalid(f"expected {name}, got {_describe(value)}")
        return value
    return structure


def _elements(value: Any, of: type, hook: Callable[[Any, Any], Any]) -> list[Any]:
    """Structure every element of a JSON list, collecting errors with their index (cattrs'
    notes), so the message can say `$.actions[3]`."""
    if not isinstance(value, list):
        raise _Invalid(f"expected a list, got {_describe(value)}")
    out, errors = [], []
    for index, element in enumerate(value):
        try:
            out.append(hook(element, of))
        except Exception as error:
            note = IterableValidationNote(f"Structuring @ index {index}", index, of)
            notes = [*getattr(error, "__notes__", []), note]
            error.__notes__ = notes  # type: ignore[attr-defined]  # add_note is 3.11+
            errors.append(error)
    if errors:
        raise IterableValidationError("While structuring a list", errors, list)
    return out


def _collection_hook(converter: cattrs.Converter, kind: Any) -> Callable[[Any, Any], Any]:
    """tuple[X, ...], tuple[X, Y] and frozenset[X] from JSON lists only (cattrs' default would
    turn a string into a tuple of characters and an object into its keys)."""
    origin, args = get_origin(kind), get_args(kind)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        element = args[0]
        hook = converter.get_structure_hook(element)
        return lambda value, _: tuple(_elements(value, element, hook))
    if origin is tuple:
        hooks = [converter.get_structure_hook(arg) for arg in args]

        def fixed(value: Any, _: Any) -> Any:
            if not isinstance(value, list) or len(value) != len(args):
                raise _Invalid(f"expected a list of {len(args)} items, got {_describe(value)}"
                               + (f" of {len(value)}" if isinstance(value, list) else ""))
            pairs = zip(hooks, value, args, strict=True)
            return tuple(hook(item, arg) for hook, item, arg in pairs)
        return fixed
    element = args[0]
    hook = converter.get_structure_hook(element)
    return lambda value, _: frozenset(_elements(value, element, hook))


def _tagged_union(converter: cattrs.Converter, union: Any, what: str,
                  classes: Iterable[type]) -> None:
    """(Un)structure a union of attrs classes as objects tagged `"kind": ClassName`."""
    by_name = {cls.__name__: cls for cls in classes}
    names = ", ".join(by_name)

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, dict):
            raise _Invalid(f"expected {what} object, got {_describe(value)}")
        if "kind" not in value:
            raise _Invalid(f"{what} without a 'kind' (one of {names})")
        kind = value["kind"]
        cls = by_name.get(kind) if isinstance(kind, str) else None
        if cls is None:
            shown = repr(kind)[:40]
            raise _Invalid(f"unknown {what} kind {shown} (expected one of {names})")
        return converter.structure({k: v for k, v in value.items() if k != "kind"}, cls)

    def unstructure(value: Any) -> Any:
        return {"kind": type(value).__name__, **converter.unstructure(value, type(value))}

    converter.register_structure_hook_func(lambda kind: kind == union, structure)
    converter.register_unstructure_hook_func(lambda kind: kind == union, unstructure)


def _literal_hook(kind: Any) -> Callable[[Any, Any], Any]:
    allowed = get_args(kind)

    def structure(value: Any, _: Any) -> Any:
        if type(value) is not str or value not in allowed:
            raise _Invalid(f"expected one of {', '.join(map(repr, allowed))}, got "
                           f"{_one_line(repr(value), 40)}")
        return value
    return structure


def _object_hook(converter: cattrs.Converter, cls: type) -> Callable[[Any, Any], Any]:
    """An attrs class from a JSON object only (cattrs' generated function assumes a mapping)."""
    generated: Callable[[Any, Any], Any] = make_dict_structure_fn(cls, converter)
    label = "a" if cls.__name__[0] not in "AEIOU" else "an"

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, dict):
            raise _Invalid(f"expected {label} {cls.__name__} object, got {_describe(value)}")
        return generated(value, cls)
    return structure


def _origin(kind: Any) -> Any:
    return get_origin(kind)


def _make_converter() -> cattrs.Converter:
    converter = make_converter(forbid_extra_keys=True)
    converter.register_structure_hook_factory(
        attrs.has, lambda cls: _object_hook(converter, cls))
    converter.register_structure_hook_factory(
        lambda kind: _origin(kind) is Literal, _literal_hook)
    converter.register_structure_hook(int, _strict(int, "an integer"))
    converter.register_structure_hook(str, _strict(str, "a string"))
    converter.register_structure_hook(bool, _strict(bool, "true or false"))
    converter.register_structure_hook_factory(
        lambda kind: _origin(kind) in (tuple, frozenset),
        lambda kind: _collection_hook(converter, kind))
    converter.register_unstructure_hook_func(
        lambda kind: _origin(kind) is frozenset or kind is frozenset,
        lambda value: sorted(value))
    _tagged_union(converter, Message, "message", _MESSAGE_TYPES)
    _tagged_union(converter, Action, "action", ACTION_TYPES)

    def metadata(value: Any, _: Any) -> Any:
        if not isinstance(value, dict):
            raise _Invalid(f"expected an object, got {_describe(value)}")
        return value
    converter.register_structure_hook_func(lambda kind: kind == Mapping[str, Any], metadata)
    return converter


CONVERTER = _make_converter()


def _format_error(error: BaseException, kind: type | None) -> str:
    if isinstance(error, _Invalid):
        return str(error)
    if isinstance(error, ValueError) and type(error) is ValueError and error.args:
        return f"invalid value: {error}"  # from Config/Bounds validation: already readable
    return cattrs.v.format_exception(error, kind)


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


# ------------------------------------------------------------------------------ in memory


def dump_trace(trace: TraceFile) -> str:
    """The JSON text of `trace`: one line per top-level field, one line per action, so a
    trace file reads (and diffs) step by step."""
    body = CONVERTER.unstructure(trace, TraceFile)
    # `steps` repeats the action count, so that a file whose steps were cut away is damaged,
    # not a clean replay of what is left
    document = {"format": FORMAT, "schema": SCHEMA_VERSION, "steps": len(trace.actions),
                **body}
    if not trace.ignored:
        del document["ignored"]
    if trace.loop is None:
        del document["loop"]
    try:
        json.dumps(document["metadata"])
    except (TypeError, ValueError) as error:
        raise TraceFileError(f"metadata is not plain JSON: {error}") from None
    lines = []
    for key, value in document.items():
        if key == "actions" and value:
            steps = ",\n    ".join(json.dumps(action, ensure_ascii=False) for action in value)
            lines.append(f'  "actions": [\n    {steps}\n  ]')
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def parse_trace(text: str | bytes) -> TraceFile:
    """The trace in `text`. Raises TraceFileError (one line) for anything wrong with it."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise TraceFileError(f"not UTF-8 text (byte {error.start})") from None
    if not text.strip():
        raise TraceFileError("empty file: not a raftcheck trace")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        truncated = error.pos >= len(text.rstrip()) or error.msg.startswith("Unterminated")
        hint = " (truncated?)" if truncated else ""
        raise TraceFileError(f"not valid JSON{hint}: {error.msg} (line {error.lineno}, "
                             f"column {error.colno})") from None
    except RecursionError:
        raise TraceFileError("not a raftcheck trace: JSON nested too deeply") from None
    if not isinstance(document, dict):
        raise TraceFileError(f"not a raftcheck trace: the top level is {_describe(document)}, "
                             "not an object")
    for library, name in ((PYSYNCOBJ_FORMAT, "pysyncobj"), (RAFTOS_FORMAT, "raftos")):
        if document.get("format") == library:
            raise TraceFileError(f"a {'PySyncObj' if name == 'pysyncobj' else name} record, "
                                 "not a trace of a core: replay it with "
                                 f"`raftcheck fuzz --core {name} --replay FILE`")
    if "schema" not in document:
        raise TraceFileError("not a raftcheck trace: no 'schema' version field")
    schema = document.pop("schema")
    if type(schema) is not int:
        raise TraceFileError(f"schema version must be an integer, got {_one_line(repr(schema))}")
    if schema != SCHEMA_VERSION:
        raise TraceFileError(f"schema version {schema} is not supported: this raftcheck "
                             f"reads version {SCHEMA_VERSION}")
    if document.pop("format", FORMAT) != FORMAT:
        raise TraceFileError(f"not a raftcheck trace: 'format' is not {FORMAT!r}")
    steps = document.pop("steps", None)  # absent from files written before it was kept
    try:
        trace = CONVERTER.structure(document, TraceFile)
    except RecursionError:
        raise TraceFileError("not a raftcheck trace: JSON nested too deeply") from None
    except Exception as error:
        messages = cattrs.transform_error(error, "$", _format_error)
        first = messages[0] if messages else f"{type(error).__name__}: {error}"
        more = f" (and {len(messages) - 1} more)" if len(messages) > 1 else ""
        raise TraceFileError(_one_line(first) + more) from None
    if steps is not None and (type(steps) is not int or steps != len(trace.actions)):
        raise TraceFileError(f"damaged: 'steps' says {_one_line(repr(steps))} but the file "
                             f"holds {len(trace.actions)} actions (edited or truncated)")
    problem = _node_problem(trace)
    if problem is not None:
        raise TraceFileError(problem)
    if trace.loop is not None and not 0 <= trace.loop < len(trace.actions):
        raise TraceFileError(f"$.loop: the cycle must start at a step of the trace "
                             f"(0..{len(trace.actions) - 1}), got {trace.loop}")
    try:
        ALL_PROPERTIES.ignoring(trace.ignored)
    except ValueError as error:
        raise TraceFileError(f"'ignored': {_one_line(str(error))}") from None
    return trace


def _node_problem(trace: TraceFile) -> str | None:
    """Actions naming nodes outside the cluster, or messages a node sends to itself: the
    file describes another cluster than its config."""
    n = trace.config.cluster_size
    for index, action in enumerate(trace.actions):
        where = f"$.actions[{index}]"
        if isinstance(action, (Deliver, Drop, Duplicate)):
            message = action.message
            for name in ("source", "dest"):
                node = getattr(message, name)
                if not 0 <= node < n:
                    return (f"{where}.message.{name}: node n{node} does not exist in a cluster "
                            f"of {n} (n0..n{n - 1})")
            if message.source == message.dest:
                return f"{where}.message: n{message.source} sends to itself"
        elif isinstance(action, (Timeout, Heartbeat, Submit, Crash, Restart)):
            if not 0 <= action.node < n:
                return (f"{where}.node: node n{action.node} does not exist in a cluster of {n} "
                        f"(n0..n{n - 1})")
        elif isinstance(action, Partition):
            outside = sorted(node for node in action.isolated if not 0 <= node < n)
            if outside:
                return (f"{where}.isolated: node n{outside[0]} does not exist in a cluster of "
                        f"{n} (n0..n{n - 1})")
    if trace.violation is not None:
        outside = [node for node in trace.violation.nodes if not 0 <= node < n]
        if outside:
            return (f"$.violation.nodes: node n{outside[0]} does not exist in a cluster of {n}")
    return None


# ------------------------------------------------------------------------------ on disk


# The largest trace file read: a counterexample of the longest runs the engines make is a few
# hundred KiB; a file far larger is not one of ours, and reading it whole could exhaust memory.
MAX_TRACE_BYTES = 64 << 20


def load_trace(path: str | os.PathLike[str]) -> TraceFile:
    """The trace saved at `path`. Raises TraceFileError (one line, naming the file)."""
    try:
        with Path(path).open("rb") as source:
            data = source.read(MAX_TRACE_BYTES + 1)  # a device or a huge file stops here
    except OSError as error:
        raise TraceFileError(f"cannot read {os.fspath(path)}: "
                             f"{error.strerror or type(error).__name__}") from None
    if len(data) > MAX_TRACE_BYTES:
        raise TraceFileError(f"{os.fspath(path)} is larger than {MAX_TRACE_BYTES >> 20} MiB: "
                             "not a trace file this tool wrote")
    try:
        return parse_trace(data)
    except TraceFileError as error:
        raise TraceFileError(f"{os.fspath(path)}: {error}") from None


def save_trace(path: str | os.PathLike[str], trace: TraceFile) -> Path:
    """Write `trace` to `path`, a new file (its directory is created). Refuses to replace an
    existing file: raises TraceFileError."""
    target = Path(path)
    text = dump_trace(trace)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TraceFileError(f"cannot write {target}: cannot create its directory "
                             f"({error.strerror or type(error).__name__})") from None
    try:
        with target.open("x", encoding="utf-8") as out:  # "x": never replaces a file
            out.write(text)
    except FileExistsError:
        raise TraceFileError(f"{target} already exists: not overwriting it") from None
    except OSError as error:
        raise TraceFileError(f"cannot write {target}: "
                             f"{error.strerror or type(error).__name__}") from None
    return target


def save_trace_fresh(path: str | os.PathLike[str], trace: TraceFile) -> Path:
    """Write `trace` to `path` or, if that exists, to the first free `stem-2.json`,
    `stem-3.json`, ... beside it; returns where it went. Raises TraceFileError if it cannot
    write at all."""
    target = Path(path)
    suffix = target.suffix or ".json"
    stem = target.name[:-len(target.suffix)] if target.suffix else target.name
    for number in range(1, 10_000):
        candidate = target if number == 1 else target.with_name(f"{stem}-{number}{suffix}")
        try:
            return save_trace(candidate, trace)
        except TraceFileError:
            if not candidate.exists():
                raise
    raise TraceFileError(f"no free file name beside {target}")


def default_trace_path(engine: str, core_name: str, seed: int | None = None) -> Path:
    """`raftcheck-traces/<engine>-<core>-<seed or UTC timestamp>.json` under the current
    directory (or under $RAFTCHECK_TRACE_DIR)."""
    directory = Path(os.environ.get(TRACE_DIR_ENV) or DEFAULT_TRACE_DIR)
    stamp = str(seed) if seed is not None else time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    safe_core = re.sub(r"[^A-Za-z0-9._-]+", "_", core_name).strip("._") or "core"
    return directory / f"{engine}-{safe_core}-{stamp}.json"


def record(model: Model, *, engine: str, core_spec: str, seed: int | None,
           actions: Iterable[Action], violation: Violation | None,
           metadata: Mapping[str, Any] | None = None, loop: int | None = None) -> TraceFile:
    """A TraceFile for a run of `model` found by `engine` on the core given as `core_spec`
    (the Figure 3 and auxiliary properties `model` leaves out are recorded as ignored)."""
    kept = set(model.properties.names)
    ignored = tuple(name for name in RAFT_PROPERTIES.names
                    if name not in kept and name not in RAFT_PROPERTIES.goal_names)
    return TraceFile(core=CoreIdentity(core_spec, model.core.name), engine=engine, seed=seed,
                     config=model.config, bounds=model.bounds, violation=violation,
                     actions=tuple(actions), metadata=dict(metadata or {}), ignored=ignored,
                     loop=loop)


def save_counterexample(trace: TraceFile, path: str | os.PathLike[str] | None = None) -> Path:
    """Save an engine's counterexample where `--save` said, or at `default_trace_path`; a
    taken name gets a `-2`, `-3`... suffix (never overwritten). Returns the path written;
    raises TraceFileError if nothing could be written."""
    default = default_trace_path(trace.engine, trace.core.name, trace.seed)
    if path is None:
        return save_trace_fresh(default, trace)
    given = os.fspath(path)
    if not given.strip():
        raise TraceFileError("--save needs a file or directory name")
    target = Path(given)
    if target.is_dir() or given.endswith(("/", os.sep)):
        target = target / default.name  # a directory: the default name inside it
    elif target.exists() and not target.is_file():
        raise TraceFileError(f"{target} is not a regular file or a directory: not saving "
                             "there")
    return save_trace_fresh(target, trace)


def add_save_arguments(parser: argparse.ArgumentParser) -> None:
    """`--save PATH` / `--no-save`, for every engine that prints counterexamples."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--save", metavar="PATH", default=None,
                       help="save each counterexample as a trace file here (default: "
                            f"./{DEFAULT_TRACE_DIR}/<engine>-<core>-<seed>.json; a taken name "
                            "gets a -2, -3... suffix; replay with `raftcheck replay`)")
    group.add_argument("--no-save", action="store_true",
                       help="do not save counterexamples as trace files")


def save_from_args(args: argparse.Namespace, trace: TraceFile) -> tuple[Path | None, str | None]:
    """Save `trace` as `--save`/`--no-save` say: (path written, None), (None, None) when
    saving is off, or (None, one-line error) when it could not be written; a failed save
    must not lose the engine's result, so it is reported, not raised."""
    if getattr(args, "no_save", False):
        return None, None
    try:
        return save_counterexample(trace, getattr(args, "save", None)), None
    except TraceFileError as error:
        return None, str(error)
