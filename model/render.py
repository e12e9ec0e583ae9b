"""Pictures of a trace: a Mermaid sequence diagram and a self-contained HTML chart.

The numbered text trace stays `model.trace.render_trace` (every engine prints it). Both
renderings here start from one `Timeline`: the trace re-run through the one action space
(`Model.run`), with every message copy given an identity, so an arrow can go from the step
that sent a message to the step that delivered (or dropped) it, even when equal copies are in
flight at once (the earliest sent is taken first) or one is duplicated.

* `render_mermaid(...)`: a `sequenceDiagram` GitHub renders: one participant per node, a
  delivered message as an arrow at its delivery (labelled with the step that sent it), local
  events, drops, duplicates, crashes, restarts, partitions and heals as notes, the violation
  as the last note.
* `render_html(...)`: one HTML page with no external resources (inline CSS, SVG and a little
  JS): a lane per node, steps top to bottom, a cell per node per step with its role, term,
  vote, log and commit index (changed cells stand out, unchanged ones are faded), messages as
  arrows from the sending step to the delivering one, drops ending in a cross, crashed nodes
  and partitioned sides shaded, and the violation highlighted with its explanation. Clicking
  a step shows every node's full state; hovering an arrow shows the message.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence

from attrs import frozen

from raftcheck.impl.types import (
    AppendEntries,
    AppendEntriesResponse,
    Message,
    Node,
    Persistent,
    RequestVote,
    RequestVoteResponse,
)
from raftcheck.model.trace import node_changes, sent_messages, show_action, show_log, show_message
from raftcheck.model.world import (
    CORE_FAULT,
    Action,
    Crash,
    Deliver,
    Drop,
    Duplicate,
    Heal,
    Model,
    Partition,
    Restart,
    World,
)
from raftcheck.properties.violation import Violation

# ------------------------------------------------------------------------------ the timeline


@frozen
class Copy:
    """One copy of a message on the network: sent (or duplicated) at step `sent`, ended at
    step `ended` by `fate` ("delivered" or "dropped"), or still "in flight" at the end."""

    id: int
    message: Message
    sent: int
    fate: str
    ended: int | None
    duplicate_of: int | None = None


@frozen
class Step:
    """Step `number` (1-based): `action` took `before` to `after` (None: the core failed on
    it). `consumed` is the copy a Deliver/Drop took off the network, `created` the copies it
    put on."""

    number: int
    action: Action
    before: World
    after: World | None
    changes: tuple[tuple[int, tuple[str, ...]], ...]
    consumed: int | None
    created: tuple[int, ...]


@frozen
class Timeline:
    model: Model
    initial: World | None  # None: the core failed building the initial state
    steps: tuple[Step, ...]
    copies: tuple[Copy, ...]
    violation: Violation | None
    stopped: tuple[int, Action, str] | None  # (step, action, why) where the trace stopped

    @property
    def nodes(self) -> int:
        return self.model.config.cluster_size

    def state_after(self, number: int) -> World:
        """The world after step `number` (0: initial); a failed step leaves it unchanged."""
        if number == 0:
            assert self.initial is not None
            return self.initial
        step = self.steps[number - 1]
        return step.after if step.after is not None else step.before


def timeline(model: Model, actions: Sequence[Action], violation: Violation | None = None,
             stopped: tuple[int, Action, str] | None = None) -> Timeline:
    """Re-run `actions` (which must apply; with a CORE_FAULT violation the last one is the
    step the core failed on, and is not run) and name every message copy."""
    if violation is not None and violation.property == CORE_FAULT and not actions:
        return Timeline(model, None, (), (), violation, stopped)  # no state to draw at all
    faulted = violation is not None and violation.property == CORE_FAULT
    runnable = list(actions[:-1]) if faulted else list(actions)
    states = model.run(runnable)
    pending: dict[Message, deque[int]] = defaultdict(deque)
    copies: list[dict[str, object]] = []
    steps: list[Step] = []

    def new_copy(message: Message, step: int, duplicate_of: int | None = None) -> int:
        copies.append({"message": message, "sent": step, "fate": "in flight", "ended": None,
                       "duplicate_of": duplicate_of})
        pending[message].append(len(copies) - 1)
        return len(copies) - 1

    for number, action in enumerate(runnable, 1):
        before, after = states[number - 1], states[number]
        consumed = None
        created: list[int] = []
        if isinstance(action, (Deliver, Drop)) and pending[action.message]:
            consumed = pending[action.message].popleft()
            copies[consumed]["fate"] = "delivered" if isinstance(action, Deliver) else "dropped"
            copies[consumed]["ended"] = number
        if isinstance(action, Duplicate):
            original = pending[action.message][0] if pending[action.message] else None
            created.append(new_copy(action.message, number, original))
        for message in sent_messages(before, after, action):
            created.append(new_copy(message, number))
        changes = tuple((i, tuple(node_changes(before.nodes[i], after.nodes[i],
                                               after.disk[i])))
                        for i in range(len(after.nodes)))
        steps.append(Step(number, action, before, after,
                          tuple((i, c) for i, c in changes if c), consumed, tuple(created)))
    if faulted:  # the core failed on the last action: its message did reach the node
        failing = actions[-1]
        consumed = None
        if isinstance(failing, Deliver) and pending[failing.message]:
            consumed = pending[failing.message].popleft()
            copies[consumed]["fate"] = "delivered"
            copies[consumed]["ended"] = len(actions)
        steps.append(Step(len(actions), failing, states[-1], None, (), consumed, ()))
    return Timeline(model, states[0], tuple(steps),
                    tuple(Copy(i, c["message"], c["sent"], c["fate"], c["ended"],  # type: ignore[arg-type]
                               c["duplicate_of"])  # type: ignore[arg-type]
                          for i, c in enumerate(copies)),
                    violation, stopped)


# ------------------------------------------------------------------------------ short labels


def message_label(message: Message) -> str:
    """`RV t2 last=1/1`, `RV✓ t2`, `AE t2 [2:x=1] c1`, `AER ok 1`: an arrow's label."""
    if isinstance(message, RequestVote):
        return f"RequestVote t{message.term} last={message.last_log_term}/" \
               f"{message.last_log_index}"
    if isinstance(message, RequestVoteResponse):
        return f"Vote {'granted' if message.vote_granted else 'refused'} t{message.term}"
    if isinstance(message, AppendEntries):
        entries = show_log(message.entries) if message.entries else "heartbeat"
        return (f"AppendEntries t{message.term} prev={message.prev_log_term}/"
                f"{message.prev_log_index} {entries} commit={message.leader_commit}")
    assert isinstance(message, AppendEntriesResponse)
    outcome = f"ok match={message.match_index}" if message.success else "rejected"
    return f"AppendEntries {outcome} t{message.term}"


def message_class(message: Message) -> str:
    return {RequestVote: "rv", RequestVoteResponse: "rvr", AppendEntries: "ae",
            AppendEntriesResponse: "aer"}[type(message)]


def _who(node_id: int | None) -> str:
    return "-" if node_id is None else f"n{node_id}"


def node_summary(node: Node | None, disk: Persistent) -> str:
    if node is None:
        return f"down · disk t{disk.current_term} {show_log(disk.log)}"
    return f"{node.role} t{node.current_term} {show_log(node.log)} c{node.commit_index}"


# ------------------------------------------------------------------------------ Mermaid


def _mermaid_text(text: str) -> str:
    """Mermaid reads `;` as a statement end and `#` as an entity start: escape both."""
    return text.replace("#", "#35;").replace(";", "#59;").replace("\n", "<br/>")


def render_mermaid(model: Model, actions: Sequence[Action], violation: Violation | None = None,
                   *, title: str | None = None,
                   stopped: tuple[int, Action, str] | None = None,
                   loop: int | None = None) -> str:
    """A Mermaid `sequenceDiagram` of the trace (paste it in a ```mermaid block on GitHub);
    for a lasso (`loop`: the steps before its cycle), a note where the cycle starts."""
    line = timeline(model, actions, violation, stopped)
    n = line.nodes
    everyone = "n0" if n == 1 else f"n0,n{n - 1}"
    out = ["sequenceDiagram"]
    heading = title or f"core {model.core.name}: {len(line.steps)} steps"
    out.append(f"    title {_mermaid_text(heading)}")
    out.extend(f"    participant n{i}" for i in range(n))
    for step in line.steps:
        action, number = step.action, step.number
        if loop is not None and number == loop + 1:
            out.append(f"    Note over {everyone}: cycle (repeats forever): steps {number}-"
                       f"{len(line.steps)} return to the state after step {loop}")
        if isinstance(action, Deliver):
            message = action.message
            sent = line.copies[step.consumed].sent if step.consumed is not None else 0
            arrow = "->>" if isinstance(message, (RequestVote, AppendEntries)) else "-->>"
            origin = f" (sent at {sent})" if sent else ""
            out.append(f"    n{message.source}{arrow}n{message.dest}: "
                       f"{number}. {_mermaid_text(message_label(message))}{origin}")
        elif isinstance(action, (Drop, Duplicate)):
            message = action.message
            verb = "✗ dropped" if isinstance(action, Drop) else "⇉ duplicated"
            pair = f"n{min(message.source, message.dest)},n{max(message.source, message.dest)}"
            out.append(f"    Note over {pair}: {number}. {verb} "
                       f"{_mermaid_text(message_label(message))} n{message.source}→"
                       f"n{message.dest}")
        elif isinstance(action, Crash):
            out.append(f"    Note over n{action.node}: {number}. ↯ crash")
        elif isinstance(action, Restart):
            out.append(f"    Note over n{action.node}: {number}. ↻ restart from disk")
        elif isinstance(action, Partition):
            inside = ",".join(f"n{i}" for i in sorted(action.isolated))
            out.append(f"    Note over {everyone}: {number}. ⟂ partition: {{{inside}}} "
                       "isolated")
        elif isinstance(action, Heal):
            out.append(f"    Note over {everyone}: {number}. partition healed")
        else:
            node = getattr(action, "node", None)
            where = f"n{node}" if node is not None else everyone
            out.append(f"    Note over {where}: {number}. {_mermaid_text(show_action(action))}")
        if step.after is None:
            out.append(f"    Note over {everyone}: ✗ the core failed on step {number}")
        for i, changes in step.changes:
            if isinstance(action, Crash) and i == action.node:
                continue
            out.append(f"    Note right of n{i}: {_mermaid_text(', '.join(changes))}")
    if stopped is not None:
        number, action, why = stopped
        out.append(f"    Note over {everyone}: step {number} does not apply: "
                   f"{_mermaid_text(show_action(action))} ({_mermaid_text(why)})")
    if violation is not None:
        out.append(f"    Note over {everyone}: ✗ {_mermaid_text(violation.property)}: "
                   f"{_mermaid_text(violation.detail)}")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------ HTML

ROW = 58  # px per step
LANE = 210  # px per node lane
CELL = 170  # px width of a node's state cell inside its lane
LEFT = 330  # px of the step column
HEAD = 44  # px of the lane headers


def _cell_html(node: Node | None, disk: Persistent, changed: bool, flagged: bool,
               isolated: bool, fresh: Sequence[str]) -> str:
    classes = ["cell"]
    if node is None:
        classes.append("down")
    else:
        classes.append(str(node.role))
    classes.append("changed" if changed else "same")
    if flagged:
        classes.append("flagged")
    if isolated:
        classes.append("isolated")
    if node is None:
        detail = (f"down (disk: term={disk.current_term} voted_for={_who(disk.voted_for)} "
                  f"log={show_log(disk.log)})")
        body = (f'<span class="role">down</span><span class="term">disk t{disk.current_term}'
                f'</span><div class="log">{html.escape(show_log(disk.log))}</div>')
    else:
        detail = (f"{node.role} term={node.current_term} voted_for={_who(node.voted_for)} "
                  f"log={show_log(node.log)} commit={node.commit_index} "
                  f"applied={node.last_applied}")
        if node.persistent != disk:
            detail += f" — NOT PERSISTED (disk term={disk.current_term} " \
                      f"voted_for={_who(disk.voted_for)} log={show_log(disk.log)})"
        vote = f" v:{_who(node.voted_for)}" if node.voted_for is not None else ""
        body = (f'<span class="role">{node.role}</span>'
                f'<span class="term">t{node.current_term}{vote}</span>'
                f'<span class="commit">c{node.commit_index}</span>'
                f'<div class="log">{html.escape(show_log(node.log))}</div>')
    if fresh:
        detail += "\nchanged: " + ", ".join(fresh)
    return (f'<div class="{" ".join(classes)}" title="{html.escape(detail)}">{body}</div>')


def _svg_arrows(line: Timeline, height: int) -> tuple[str, int]:
    """The message arrows as SVG over the lanes; returns (svg, number of arrows)."""
    width = LANE * line.nodes
    parts = [f'<svg class="arrows" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
             "<defs>"]
    for kind in ("rv", "rvr", "ae", "aer"):
        parts.append(f'<marker id="head-{kind}" viewBox="0 0 10 10" refX="9" refY="5" '
                     f'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
                     f'<path d="M0,0 L10,5 L0,10 z" class="head {kind}"/></marker>')
    parts.append("</defs>")

    def y_of(step: int) -> float:  # the middle of step's row (row 0: the initial state)
        return HEAD + (step + 0.5) * ROW

    def x_edge(node: int, toward: int) -> float:
        centre = LANE * node + LANE / 2
        return centre + (CELL / 2 if toward > node else -CELL / 2)

    for copy in line.copies:
        message = copy.message
        kind = message_class(message)
        source, dest = message.source, message.dest
        x1, y1 = x_edge(source, dest), y_of(copy.sent)
        tip = f"{show_message(message)}\nsent at step {copy.sent}"
        if copy.duplicate_of is not None:
            tip += f" (duplicate of the copy sent at step {line.copies[copy.duplicate_of].sent})"
        if copy.fate == "delivered" and copy.ended is not None:
            x2, y2 = x_edge(dest, source), y_of(copy.ended)
            tip += f", delivered at step {copy.ended}"
            ending = f'marker-end="url(#head-{kind})"'
            cross = ""
        elif copy.fate == "dropped" and copy.ended is not None:
            x2 = (x1 + x_edge(dest, source)) / 2
            y2 = y_of(copy.ended)
            tip += f", dropped at step {copy.ended}"
            ending = ""
            cross = (f'<path class="cross" d="M{x2 - 6:.1f},{y2 - 6:.1f} l12,12 '
                     f'M{x2 + 6:.1f},{y2 - 6:.1f} l-12,12"/>')
        else:  # still in flight at the end of the trace: a short stub toward its target
            x2 = x1 + (28 if dest > source else -28)
            y2 = y1 + ROW * 0.3
            tip += ", never delivered (still in flight at the end)"
            ending = ""
            cross = ""
        fate = copy.fate.replace(" ", "-")
        along = 0.5 if copy.fate != "in flight" else 1.0
        lx, ly = x1 + (x2 - x1) * along, y1 + (y2 - y1) * along - 3
        parts.append(
            f'<g class="msg {kind} {fate}" data-copy="{copy.id}" data-sent="{copy.sent}" '
            f'data-ended="{copy.ended if copy.ended is not None else ""}">'
            f"<title>{html.escape(tip)}</title>"
            f'<line class="hit" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"/>'
            f'<line class="wire" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f"{ending}/>{cross}"
            f'<text class="label" x="{lx:.1f}" y="{ly:.1f}">'
            f"{html.escape(_short_label(message, copy.fate))}</text></g>")
    parts.append("</svg>")
    return "".join(parts), len(line.copies)


def _short_label(message: Message, fate: str) -> str:
    if isinstance(message, RequestVote):
        text = f"RV t{message.term}"
    elif isinstance(message, RequestVoteResponse):
        text = f"vote {'✓' if message.vote_granted else '✗'} t{message.term}"
    elif isinstance(message, AppendEntries):
        text = f"AE t{message.term} {show_log(message.entries) if message.entries else '♥'}"
    else:
        text = f"AE {'ok ' + str(message.match_index) if message.success else 'no'}"
    return text if fate != "in flight" else text + " …"


_CSS = """
:root { --rv:#2f6fdf; --rvr:#5aa9e6; --ae:#2e9e5b; --aer:#8a9a2b; --bad:#d43f3a;
  --ink:#1d2330; --muted:#7a8394; --line:#e3e7ee; --bg:#f7f8fb; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.35 -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color:var(--ink); background:var(--bg); }
header { padding:18px 24px 8px; }
h1 { font-size:20px; margin:0 0 4px; }
.meta { color:var(--muted); font-size:12.5px; }
.meta code { color:var(--ink); background:#eceff5; padding:1px 5px; border-radius:4px; }
.verdict { margin:12px 0 4px; padding:12px 16px; border-radius:8px; background:#fff;
  border-left:6px solid var(--bad); box-shadow:0 1px 3px rgba(0,0,0,.08); max-width:1100px; }
.verdict.ok { border-left-color:#2e9e5b; }
.verdict.stop { border-left-color:#e0a100; }
.verdict b { font-size:15px; }
.verdict .why { color:#4a5262; margin-top:4px; }
.legend { display:flex; gap:14px; flex-wrap:wrap; font-size:12px; color:var(--muted);
  margin:10px 0 0; }
.legend i { display:inline-block; width:18px; height:3px; vertical-align:middle;
  margin-right:5px; border-radius:2px; }
.legend .sw { width:12px; height:12px; border-radius:3px; }
main { display:flex; gap:18px; padding:8px 24px 40px; align-items:flex-start; }
.chart { position:relative; background:#fff; border-radius:10px;
  box-shadow:0 1px 3px rgba(0,0,0,.08); padding:0 0 12px; }
.grid { display:grid; position:relative; }
.hdr { height:%(head)dpx; display:flex; align-items:center; justify-content:center;
  font-weight:600; border-bottom:1px solid var(--line); background:#fff; position:sticky;
  top:0; z-index:3; }
.hdr.steps { justify-content:flex-start; padding-left:14px; color:var(--muted);
  font-weight:500; }
.row { display:contents; }
.act { height:%(row)dpx; padding:6px 10px 0 14px; border-bottom:1px solid var(--line);
  font-size:12.5px; overflow:hidden; cursor:pointer; }
.act .n { display:inline-block; min-width:24px; color:var(--muted); font-variant-numeric:
  tabular-nums; }
.act .k { font-weight:600; }
.act .sub { color:var(--muted); font-size:11.5px; white-space:nowrap; overflow:hidden;
  text-overflow:ellipsis; }
.lane { height:%(row)dpx; border-bottom:1px solid var(--line); display:flex;
  align-items:center; justify-content:center; position:relative; cursor:pointer; }
.lane::before { content:""; position:absolute; left:50%%; top:0; bottom:0;
  border-left:2px solid #edf0f5; z-index:0; }
.lane.isolated { background:repeating-linear-gradient(135deg, #f4effd 0 6px, #ebe2fb 6px 12px); }
.lane.downlane { background:repeating-linear-gradient(135deg, #f3f3f3 0 6px, #e7e7e7 6px 12px); }
.row.sel > div { background-color:#fff8d6; }
.row.bad > div { background-color:#fdecec; }
.cell { position:relative; z-index:1; width:%(cell)dpx; height:44px; border-radius:7px;
  padding:3px 8px; font-size:11.5px; background:#fff; border:1.5px solid #d5dae3;
  display:grid; grid-template-columns:auto 1fr auto; column-gap:6px; align-items:baseline; }
.cell .role { font-weight:700; text-transform:uppercase; font-size:10px; letter-spacing:.04em; }
.cell .term { color:#4a5262; }
.cell .commit { color:#4a5262; text-align:right; }
.cell .log { grid-column:1 / 4; font-family:ui-monospace, "DejaVu Sans Mono", monospace;
  font-size:11px; white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
.cell.same { opacity:.42; border-style:dashed; }
.cell.follower { border-color:#b8c0cc; }
.cell.follower .role { color:#6b7482; }
.cell.candidate { border-color:#e0a100; background:#fff9e8; }
.cell.candidate .role { color:#b37f00; }
.cell.leader { border-color:#2e9e5b; background:#eefaf2; }
.cell.leader .role { color:#1f7a43; }
.cell.down { border-color:#555; background:#3a3f47; color:#e8e8e8; }
.cell.down .role, .cell.down .term { color:#fff; }
.cell.changed { box-shadow:0 0 0 3px rgba(47,111,223,.13); }
.cell.flagged { border-color:var(--bad); box-shadow:0 0 0 3px rgba(212,63,58,.28); opacity:1; }
.marker { position:absolute; right:4px; top:3px; font-size:12px; z-index:2; }
svg.arrows { position:absolute; top:0; left:%(left)dpx; pointer-events:none; z-index:2;
  overflow:visible; }
svg.arrows .msg { pointer-events:visiblePainted; cursor:help; }
svg.arrows .wire { stroke-width:1.8; opacity:.85; }
svg.arrows .hit { stroke:transparent; stroke-width:10; }
svg.arrows .rv .wire { stroke:var(--rv); }
svg.arrows .rvr .wire { stroke:var(--rvr); stroke-dasharray:5 3; }
svg.arrows .ae .wire { stroke:var(--ae); }
svg.arrows .aer .wire { stroke:var(--aer); stroke-dasharray:5 3; }
svg.arrows .head.rv { fill:var(--rv); } svg.arrows .head.rvr { fill:var(--rvr); }
svg.arrows .head.ae { fill:var(--ae); } svg.arrows .head.aer { fill:var(--aer); }
svg.arrows .dropped .wire { opacity:.55; }
svg.arrows .in-flight .wire { stroke-dasharray:2 3; opacity:.6; }
svg.arrows .cross { stroke:var(--bad); stroke-width:2.4; }
svg.arrows .label { font-size:10.5px; fill:#333; paint-order:stroke; stroke:#fff;
  stroke-width:3.5px; text-anchor:middle; }
svg.arrows .msg.hot .wire { stroke-width:3.2; opacity:1; }
svg.arrows .msg.hot .label { font-weight:700; }
svg.arrows.dim .msg:not(.hot) { opacity:.18; }
aside { position:sticky; top:12px; width:340px; flex:none; background:#fff;
  border-radius:10px; box-shadow:0 1px 3px rgba(0,0,0,.08); padding:14px 16px;
  font-size:12.5px; }
aside h2 { font-size:14px; margin:0 0 6px; }
aside .hint { color:var(--muted); }
aside table { border-collapse:collapse; width:100%%; margin-top:8px; }
aside td { border-top:1px solid var(--line); padding:4px 4px; vertical-align:top; }
aside td:first-child { font-weight:600; width:34px; }
aside ul { margin:6px 0; padding-left:18px; }
aside .mono { font-family:ui-monospace, "DejaVu Sans Mono", monospace; font-size:11.5px; }
.final { margin:6px 14px 0; padding:10px 12px; border:1.5px solid var(--bad); border-radius:8px;
  background:#fdecec; font-size:13px; }
.final.stop { border-color:#e0a100; background:#fff6de; }
"""

_JS = """
window.addEventListener("error", function (event) {
  document.body.dataset.jsError = String(event.message);
});
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("trace-data").textContent);
  var panel = document.getElementById("details");
  var svg = document.querySelector("svg.arrows");
  function esc(s) { var d = document.createElement("div"); d.textContent = s;
    return d.innerHTML; }
  function show(step, quiet) {
    var s = data.steps[step];
    document.querySelectorAll(".row.sel").forEach(function (r) { r.classList.remove("sel"); });
    var row = document.querySelector('.row[data-step="' + step + '"]');
    if (row) { row.classList.add("sel"); }
    var html = "<h2>" + (step === 0 ? "Initial state" : "Step " + step + ": " +
      esc(s.action)) + "</h2>";
    if (s.changes.length) {
      html += "<div>Changed:</div><ul>" + s.changes.map(function (c) {
        return "<li>" + esc(c) + "</li>"; }).join("") + "</ul>";
    }
    if (s.sent.length) {
      html += "<div>Sent:</div><ul class='mono'>" + s.sent.map(function (m) {
        return "<li>" + esc(m) + "</li>"; }).join("") + "</ul>";
    }
    html += "<table>" + s.nodes.map(function (n, i) {
      return "<tr><td>n" + i + "</td><td class='mono'>" + esc(n) + "</td></tr>"; }).join("") +
      "</table>";
    if (s.network.length) {
      html += "<div style='margin-top:8px'>In flight after this step:</div><ul class='mono'>" +
        s.network.map(function (m) { return "<li>" + esc(m) + "</li>"; }).join("") + "</ul>";
    }
    panel.innerHTML = html;
    if (quiet) { return; }
    svg.classList.add("dim");
    svg.querySelectorAll(".msg").forEach(function (g) {
      var hot = g.dataset.sent === String(step) || g.dataset.ended === String(step);
      g.classList.toggle("hot", hot);
    });
  }
  document.querySelectorAll(".row[data-step]").forEach(function (row) {
    row.addEventListener("click", function () { show(Number(row.dataset.step)); });
  });
  svg.querySelectorAll(".msg").forEach(function (g) {
    g.addEventListener("mouseenter", function () { g.classList.add("hot"); });
    g.addEventListener("mouseleave", function () {
      if (!svg.classList.contains("dim")) { g.classList.remove("hot"); } });
  });
  show(data.steps.length - 1, true);  // open on the last step: where the trace ends
  document.body.dataset.steps = String(data.steps.length - 1);
  document.body.dataset.arrows = String(svg.querySelectorAll(".msg").length);
  document.body.dataset.ready = "yes";
})();
"""


def _step_data(line: Timeline, number: int) -> dict[str, object]:
    """What the details panel shows for step `number` (0: the initial state)."""
    world = line.state_after(number)
    nodes = []
    for i, node in enumerate(world.nodes):
        disk = world.disk[i]
        if node is None:
            nodes.append(f"down; disk: term={disk.current_term} voted_for="
                         f"{_who(disk.voted_for)} log={show_log(disk.log)}")
        else:
            nodes.append(f"{node.role} term={node.current_term} voted_for="
                         f"{_who(node.voted_for)} log={show_log(node.log)} "
                         f"commit={node.commit_index} applied={node.last_applied}")
    if number == 0:
        return {"action": "initial", "changes": [], "sent": [], "nodes": nodes,
                "network": [show_message(m) for m in world.network]}
    step = line.steps[number - 1]
    changes = [f"n{i}: {', '.join(c)}" for i, c in step.changes]
    if step.after is None:
        changes = ["the core failed on this step: no state after it"]
    return {"action": show_action(step.action), "changes": changes,
            "sent": [show_message(line.copies[c].message) for c in step.created],
            "nodes": nodes, "network": [show_message(m) for m in world.network]}


def _action_html(step: Step) -> tuple[str, str]:
    """(headline, sub-line) for the step column."""
    action = step.action
    if isinstance(action, Deliver):
        m = action.message
        head = f"deliver {type(m).__name__} n{m.source}→n{m.dest}"
        sub = message_label(m)
    elif isinstance(action, Drop):
        m = action.message
        head = f"✗ drop {type(m).__name__} n{m.source}→n{m.dest}"
        sub = message_label(m)
    elif isinstance(action, Duplicate):
        m = action.message
        head = f"⇉ duplicate {type(m).__name__} n{m.source}→n{m.dest}"
        sub = message_label(m)
    elif isinstance(action, Crash):
        head, sub = f"↯ n{action.node} crashes", "volatile state lost"
    elif isinstance(action, Restart):
        head, sub = f"↻ n{action.node} restarts", "from what it persisted"
    elif isinstance(action, Partition):
        inside = ",".join(f"n{i}" for i in sorted(action.isolated))
        head, sub = f"⟂ partition {{{inside}}}", "isolated from the rest"
    elif isinstance(action, Heal):
        head, sub = "partition healed", ""
    else:
        head, sub = show_action(action), ""
    changed = "; ".join(f"n{i}: {', '.join(c)}" for i, c in step.changes)
    if changed and not sub:
        sub = changed
    return head, sub


def render_html(model: Model, actions: Sequence[Action], violation: Violation | None = None,
                *, title: str | None = None, subtitle: str | None = None,
                stopped: tuple[int, Action, str] | None = None,
                verdict: str | None = None) -> str:
    """The trace as a self-contained HTML page (see the module docstring). `verdict` is the
    headline of the result box (default: the violation, or "no property violated")."""
    line = timeline(model, actions, violation, stopped)
    n = line.nodes
    if line.initial is None:
        line_note = ('<div class="final"><b>The core failed building the initial state:</b> '
                     "there is no step to draw.</div>")
        return _page(model, line, title, subtitle, verdict, violation, stopped,
                     '<div class="grid"></div><svg class="arrows"></svg>' + line_note,
                     {"steps": [{"action": "initial", "changes": [], "sent": [],
                                 "nodes": ["not started"] * n, "network": []}]})
    flagged_step = len(line.steps) if violation is not None else -1
    flagged_nodes = set(violation.nodes) if violation is not None else set()
    rows = []
    header = ['<div class="hdr steps">step · action</div>']
    header.extend(f'<div class="hdr">n{i}</div>' for i in range(n))
    # row 0: the initial state
    rows.append(_row_html(line, 0, "initial state", f"{n} followers, term 0, empty logs",
                          flagged_step, flagged_nodes))
    for step in line.steps:
        head, sub = _action_html(step)
        rows.append(_row_html(line, step.number, head, sub, flagged_step, flagged_nodes))
    height = HEAD + ROW * (len(line.steps) + 1)
    svg, _ = _svg_arrows(line, height)
    grid = (f'<div class="grid" style="grid-template-columns:{LEFT}px repeat({n}, {LANE}px)">'
            + "".join(header) + "".join(rows) + "</div>")
    final = ""
    if stopped is not None:
        number, action, why = stopped
        final = (f'<div class="final stop"><b>Step {number} does not apply:</b> '
                 f"{html.escape(show_action(action))} — {html.escape(why)}</div>")
    elif violation is not None:
        when = "at step" if violation.property == CORE_FAULT else "after step"
        final = (f'<div class="final"><b>✗ {html.escape(violation.property)}</b> {when} '
                 f"{len(line.steps)}: {html.escape(violation.detail)}</div>")
    data = {"steps": [_step_data(line, i) for i in range(len(line.steps) + 1)]}
    return _page(model, line, title, subtitle, verdict, violation, stopped,
                 grid + svg + final, data)


def _page(model: Model, line: Timeline, title: str | None, subtitle: str | None,
          verdict: str | None, violation: Violation | None,
          stopped: tuple[int, Action, str] | None, chart: str,
          data: Mapping[str, object]) -> str:
    """The page around the chart: header, verdict box, legend, details panel, script."""
    n = line.nodes
    if verdict is None:
        verdict = (f"✗ {violation.property}" if violation is not None
                   else "✓ no property violated")
    box_class = "verdict" if violation is not None else (
        "verdict stop" if stopped is not None else "verdict ok")
    explanation = ""
    if violation is not None:
        where = ", ".join(f"n{i}" for i in violation.nodes)
        explanation = (f'<div>{html.escape(violation.detail)}</div>'
                       f'<div class="why"><b>Why it matters:</b> '
                       f"{html.escape(violation.why)}</div>"
                       + (f'<div class="why">Nodes involved: {where} (outlined in red at the '
                          "last step)</div>" if where else ""))
    elif stopped is not None:
        explanation = f"<div>The trace stops applying at step {stopped[0]}: " \
                      f"{html.escape(stopped[2])}</div>"
    config = model.config
    meta = (f"core <code>{html.escape(model.core.name)}</code> · {n} nodes · "
            f"{html.escape(config.timing)} · bounds <code>{html.escape(model.bounds.describe())}"
            f"</code> · {len(line.steps)} steps · {len(line.copies)} messages")
    legend = ('<div class="legend">'
              '<span><i style="background:var(--rv)"></i>RequestVote</span>'
              '<span><i style="background:var(--rvr)"></i>vote reply</span>'
              '<span><i style="background:var(--ae)"></i>AppendEntries</span>'
              '<span><i style="background:var(--aer)"></i>append reply</span>'
              '<span style="color:var(--bad)">✗ dropped</span>'
              '<span><i class="sw" style="background:#eefaf2;border:1.5px solid #2e9e5b">'
              "</i>leader</span>"
              '<span><i class="sw" style="background:#fff9e8;border:1.5px solid #e0a100">'
              "</i>candidate</span>"
              '<span><i class="sw" style="background:#3a3f47"></i>down</span>'
              '<span><i class="sw" style="background:#ebe2fb"></i>partitioned off</span>'
              "<span>faded cell: unchanged · t=term v=voted for c=commit index · "
              "click a step for every node's full state</span></div>")
    css = _CSS % {"row": ROW, "head": HEAD, "cell": CELL, "left": LEFT}
    page_title = title or f"raftcheck trace: {model.core.name}"
    sub_html = f'<div class="meta">{html.escape(subtitle)}</div>' if subtitle else ""
    payload = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(page_title)}</title>
<style>{css}</style></head>
<body data-ready="no">
<header><h1>{html.escape(page_title)}</h1><div class="meta">{meta}</div>{sub_html}
<div class="{box_class}"><b>{html.escape(verdict)}</b>{explanation}</div>{legend}</header>
<main><div class="chart">{chart}</div>
<aside id="details"><h2>Details</h2><div class="hint">Click a step (a row) to see every node's
full state, what changed and what was sent; hover an arrow to see its message.</div></aside>
</main>
<script type="application/json" id="trace-data">{payload}</script>
<script>{_JS}</script>
</body></html>
"""




def _row_html(line: Timeline, number: int, head: str, sub: str, flagged_step: int,
              flagged_nodes: set[int]) -> str:
    world = line.state_after(number)
    step = line.steps[number - 1] if number else None
    changed = {i: c for i, c in step.changes} if step is not None else {}
    bad = number == flagged_step
    classes = "row bad" if bad else "row"
    cells = [f'<div class="act" title="{html.escape(head + (" — " + sub if sub else ""))}">'
             f'<span class="n">{number}</span><span class="k">{html.escape(head)}</span>'
             f'<div class="sub">{html.escape(sub)}</div></div>']
    for i in range(line.nodes):
        node = world.nodes[i]
        isolated = bool(world.isolated) and i in world.isolated
        lane = "lane"
        if isolated:
            lane += " isolated"
        if node is None:
            lane += " downlane"
        marker = ""
        if step is not None and isinstance(step.action, Crash) and step.action.node == i:
            marker = '<span class="marker" title="crash">↯</span>'
        elif step is not None and isinstance(step.action, Restart) and step.action.node == i:
            marker = '<span class="marker" title="restart">↻</span>'
        fresh = changed.get(i, ())
        cell = _cell_html(node, world.disk[i], number == 0 or bool(fresh),
                          bad and i in flagged_nodes, isolated, fresh)
        cells.append(f'<div class="{lane}">{marker}{cell}</div>')
    return f'<div class="{classes}" data-step="{number}">{"".join(cells)}</div>'


__all__ = ["Copy", "Step", "Timeline", "message_label", "node_summary", "render_html",
           "render_mermaid", "timeline"]
