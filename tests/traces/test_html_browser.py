"""The HTML chart in a real headless browser (Debian's chromium): the page's script runs
without errors, and the DOM it ends with has one step row per step, one arrow per message
copy, a cell per node per step, and the details panel filled in for the last step.

Skipped, with the reason, when no chromium is installed (`apt-get install -y chromium`)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from raftcheck.model.cores import load_core
from raftcheck.model.render import timeline

ROOT = Path(__file__).resolve().parent.parent.parent


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "screenshot_trace", ROOT / "scripts" / "screenshot_trace.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPT = _script()
CHROMIUM = SCRIPT.find_chromium()


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install -y "
                                             "chromium) to load the HTML chart headless")
def test_chart_renders_in_chromium(tmp_path: Path) -> None:
    trace = SCRIPT.demo_trace()
    page = tmp_path / "demo.html"
    page.write_text(SCRIPT.trace_html(trace), encoding="utf-8")
    dom = SCRIPT.dump_dom(page, CHROMIUM)

    body = re.search(r"<body([^>]*)>", dom)
    assert body is not None
    attributes = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body.group(1)))
    assert "js-error" not in attributes, attributes.get("js-error")
    assert attributes["ready"] == "yes"  # the script ran to its end

    steps = len(trace.actions)
    copies = len(timeline(trace.model(load_core("raft")), trace.actions).copies)
    assert attributes["steps"] == str(steps)
    assert attributes["arrows"] == str(copies)  # counted by the page's script, in the DOM
    assert len(re.findall(r'<div class="row[^"]*" data-step="\d+"', dom)) == steps + 1
    assert len(re.findall(r'class="cell ', dom)) == 3 * (steps + 1)
    assert len(re.findall(r'<g class="msg ', dom)) == copies
    # the script filled the details panel with the last step and every node's state
    panel = dom[dom.index('id="details"'):dom.index("</aside>")]
    assert f"Step {steps}:" in panel and panel.count("<tr><td>n") == 3
