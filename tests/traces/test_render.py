"""The Mermaid and HTML renderings: every step, every message copy with its fate, and a page
that needs nothing from the network."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

from raftcheck.model.cores import load_core
from raftcheck.model.render import render_html, render_mermaid, timeline
from raftcheck.model.tracefile import TraceFile, load_trace
from raftcheck.model.world import Action, Deliver, Drop, Duplicate

ROOT = Path(__file__).resolve().parent.parent.parent
FIGURE_8 = ROOT / "tests" / "regressions" / "commit-previous-term-by-counting.json"


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def demo() -> TraceFile:
    trace: TraceFile = load_script("screenshot_trace").demo_trace()
    return trace


def test_every_message_copy_has_a_fate() -> None:
    trace = demo()
    model = trace.model(load_core("raft"))
    line = timeline(model, trace.actions)
    fates = [copy.fate for copy in line.copies]
    kinds = [type(action) for action in trace.actions]
    assert fates.count("delivered") == kinds.count(Deliver)
    assert fates.count("dropped") == kinds.count(Drop)
    assert fates.count("in flight") == len(model.run(list(trace.actions))[-1].network)
    [duplicate] = [copy for copy in line.copies if copy.duplicate_of is not None]
    assert kinds.count(Duplicate) == 1 and duplicate.duplicate_of is not None
    assert duplicate.sent > line.copies[duplicate.duplicate_of].sent
    for copy in line.copies:  # an arrow never goes back in time
        assert copy.ended is None or copy.ended > copy.sent


def test_mermaid_has_a_line_per_step() -> None:
    trace = demo()
    text = render_mermaid(trace.model(load_core("raft")), trace.actions)
    lines = text.splitlines()
    assert lines[0] == "sequenceDiagram"
    assert [line.strip() for line in lines[2:5]] == [
        "participant n0", "participant n1", "participant n2"]
    numbered = {int(m.group(1)) for m in re.finditer(r": (\d+)\. ", text)}
    assert numbered == set(range(1, len(trace.actions) + 1))
    # one arrow ("->>" requests, "-->>" replies) per delivery
    assert text.count("->>") == sum(isinstance(a, Deliver) for a in trace.actions)
    assert "↯ crash" in text and "partition healed" in text and "✗ dropped" in text
    assert ";" not in text.replace("#59;", "")  # statement separators are escaped


def test_mermaid_ends_with_the_violation() -> None:
    trace = load_trace(FIGURE_8)
    text = render_mermaid(trace.model(load_core(trace.core.spec)), trace.actions,
                          trace.violation)
    assert text.splitlines()[-1].startswith("    Note over n0,n2: ✗ Leader Completeness: ")


def test_html_is_self_contained_and_complete() -> None:
    trace = load_trace(FIGURE_8)
    model = trace.model(load_core(trace.core.spec))
    page = render_html(model, trace.actions, trace.violation)
    line = timeline(model, trace.actions, trace.violation)
    assert page.count('<g class="msg ') == len(line.copies)
    assert page.count('<div class="row') == len(trace.actions) + 1
    assert page.count('class="cell ') == 3 * (len(trace.actions) + 1)
    assert 'class="cell leader changed flagged' in page  # the node the violation names
    assert "Why it matters" in page
    external = re.findall(r"(?:src|href)=|@import|url\((?!#)", page)
    assert external == []
    assert re.findall(r"https?://[^\"' ]*", page) == ["http://www.w3.org/2000/svg"]  # a namespace


def test_a_core_fault_renders_and_replays(tmp_path: Path) -> None:
    """A core that raises is a finding with its trace: the step it failed on is drawn (its
    message delivered, no state after it); a core that cannot even build the initial state
    gets a page with the diagnosis and no steps."""
    from raftcheck.impl.types import RequestVote
    from raftcheck.model.replay import REPRODUCED, replay
    from raftcheck.model.shrink import first_violation
    from raftcheck.model.tracefile import load_trace, record, save_trace
    from raftcheck.model.world import Timeout

    bad = ROOT / "tests" / "cores" / "bad_cores.py"
    request = RequestVote(0, 1, 1, 0, 0)
    cases: list[tuple[str, list[Action]]] = [
        ("RAISING_STEP", [Timeout(0), Deliver(request)]), ("RAISING_INITIAL_NODE", [])]
    for name, actions in cases:
        spec = f"{bad}:{name}"
        model = load_trace(FIGURE_8).model(load_core(spec))
        outcome = first_violation(model, actions)
        assert outcome is not None and outcome.violation.property == "Core Fault"
        path = save_trace(tmp_path / f"{name}.json", record(
            model, engine="test", core_spec=spec, seed=None, actions=outcome.actions,
            violation=outcome.violation))
        trace = load_trace(path)
        assert replay(model, trace.actions, trace.violation).outcome == REPRODUCED
        page = render_html(model, trace.actions, trace.violation)
        assert "Core Fault" in page and page.count('<div class="row') == len(actions) + (
            1 if actions else 0)
        diagram = render_mermaid(model, trace.actions, trace.violation)
        assert diagram.splitlines()[-1].startswith("    Note over n0,n2: ✗ Core Fault: ")
        if actions:
            [copy] = [c for c in timeline(model, trace.actions, trace.violation).copies
                      if c.message == request]
            assert (copy.fate, copy.ended) == ("delivered", 2)
