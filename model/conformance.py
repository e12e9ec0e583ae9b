"""Core conformance: the checks every Raft core must pass, as a library call on any core.

    from raftcheck import check_core

    report = check_core(MyCore())
    assert report.ok, report.render()

The checks read a core only through the core protocol (`raftcheck.impl.core.Core`: `name`,
`initial_node`, `restart`, `step`) and the world, never through `impl.raft`'s internals, so a
from-scratch core is judged by the same standard as the bundled one:

* **protocol**: a string `name` and the three methods, callable as the world calls them;
* **step contract**: random walks through the world in checked mode (every call validated:
  types, shapes, the input left unmutated), every transition property checked on every step;
* **random runs**: the Hypothesis engine (`model.fuzz`) finds no violation of any property,
  and its runs elect leaders, commit entries and replace leaders;
* **exhaustive**: every state within small bounds (`model.explore`) is safe, and some entry
  gets committed;
* **scenario: ...**: the seed's scripted experiments end as Raft says they should.

Each check is one `ConformanceCheck` (name, the paper section it holds the core to, passed or
not, a one-line reason, and the counterexample when there is one). Everything random is drawn
from `seed`, so a report is reproducible: the same core and seed give the same report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from attrs import frozen

from raftcheck.model import presets
from raftcheck.model.cores import protocol_problem
from raftcheck.model.explore import Counterexample, explore
from raftcheck.model.fuzz import fuzz
from raftcheck.model.scenarios import SCENARIOS, render_scenario, run_scenario
from raftcheck.model.stateful import FUZZ_BOUNDS
from raftcheck.model.trace import render_trace, replayable, show_action
from raftcheck.model.world import CORE_FAULT, Action, Bounds, Config, Core, CoreFault, Model
from raftcheck.properties import Violation

# The exhaustive check's bounds (a few thousand states, about a second for the bundled core).
CONFORMANCE_BOUNDS = presets.SMALL

# The goals a run of the Hypothesis engine must reach for its "clean" to mean something.
FUZZ_GOALS = ("leader elected", "entry committed", "leader replaced")

FIGURE_3 = ("Figure 3 (Election Safety, Leader Append-Only, Log Matching, Leader Completeness, "
            "State Machine Safety) and the auxiliary invariants")

# Every check, in report order, with the part of the paper (Ongaro & Ousterhout, "In Search of
# an Understandable Consensus Algorithm", 2014) it holds the core to.
REFERENCES: dict[str, str] = {
    "protocol": "Figure 2 (a server's state, RPCs and rules, as the values of impl/types.py)",
    "step contract": "Figure 2 (one event, one new state); Figure 3's Leader Append-Only and "
                     "the other transition properties",
    "random runs: safety": FIGURE_3,
    "random runs: progress": "§5.2 (leader election), §5.3 (log replication)",
    "exhaustive: safety": FIGURE_3,
    "exhaustive: progress": "§5.3 (an entry is committed)",
    **{f"scenario: {name}": reference for name, reference in {
        "split-brain": "§5.1, §5.2 (a stale leader steps down; one leader per term)",
        "log-inconsistency-minority": "§5.3 (the leader overwrites uncommitted entries)",
        "log-inconsistency-majority": "§5.4.1 (election restriction: Leader Completeness)",
        "network-partition": "§5.1, §5.3 (a minority leader commits nothing)",
    }.items()},
}
# The checks, in report order: one per scenario in `model.scenarios.SCENARIOS`, whatever it
# holds (a scenario without a reference above is held to the seed's answer).
CHECKS = (*(name for name in REFERENCES if not name.startswith("scenario: ")),
          *(f"scenario: {name}" for name in SCENARIOS))


@frozen
class ConformanceCheck:
    """One check on one core: its name, the paper reference, whether it passed, why (one
    line), and the counterexample (a numbered trace) when the check found one."""

    name: str
    reference: str
    passed: bool
    reason: str
    trace: str | None = None

    def line(self) -> str:
        return f"{'✓' if self.passed else '✗'} {self.name}: {self.reason}  [{self.reference}]"


@frozen
class ConformanceReport:
    """Every check `check_core` ran on one core, in order. `ok` when all passed."""

    core: str
    seed: int
    checks: tuple[ConformanceCheck, ...]

    @property
    def ok(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failed(self) -> tuple[ConformanceCheck, ...]:
        return tuple(check for check in self.checks if not check.passed)

    def __getitem__(self, name: str) -> ConformanceCheck:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(f"no check {name!r} in this report; it has "
                       f"{', '.join(check.name for check in self.checks)}")

    def render(self, traces: bool = True) -> str:
        """One line per check; then, with `traces`, the counterexample of each failed check."""
        verdict = "PASS" if self.ok else "FAIL"
        passed = len(self.checks) - len(self.failed)
        lines = [f"raftcheck conformance: core {self.core!r}, seed {self.seed}: {verdict} "
                 f"({passed} of {len(self.checks)} checks passed)"]
        for check in self.checks:
            lines += [f"  {'✓' if check.passed else '✗'} {check.name}: {check.reason}",
                      f"      [{check.reference}]"]
        if traces:
            for check in self.failed:
                if check.trace:
                    lines += ["", f"--- {check.name} ---", check.trace]
        return "\n".join(lines)


def check_core(
    core: Core,
    *,
    seed: int = 0,
    examples: int = 100,
    walks: int = 40,
    walk_length: int = 40,
    fuzz_bounds: Bounds = FUZZ_BOUNDS,
    explore_bounds: Bounds = CONFORMANCE_BOUNDS,
    only: Iterable[str] | None = None,
) -> ConformanceReport:
    """Run the conformance checks on `core` (any object meant to satisfy the core protocol)
    and return the report; nothing is raised for a failing core.

    `seed` draws the random walks (`walks` of up to `walk_length` steps) and seeds the
    Hypothesis engine (`examples` runs); the same core and seed give the same report.
    `only` names the checks to run (see `CHECKS`); the protocol check always runs, because
    the others cannot call a core that fails it. Takes a few seconds for a correct core."""
    selected = set(CHECKS if only is None else [only] if isinstance(only, str) else only)
    unknown = selected - set(CHECKS)
    if unknown:
        raise ValueError(f"unknown conformance check(s) {', '.join(sorted(unknown))}; "
                         f"choose from {', '.join(CHECKS)}")
    name = _name_of(core)
    problem = protocol_problem(core)
    results = [_check("protocol", problem is None, problem or
                      "a string name, and initial_node, restart and step callable as the "
                      "world calls them")]
    wanted = [check for check in CHECKS[1:] if check in selected]
    if problem is not None:
        results += [_check(check, False, "not run: the core does not satisfy the protocol")
                    for check in wanted]
        return ConformanceReport(name, seed, tuple(results))
    groups: list[tuple[tuple[str, ...], Callable[[], list[ConformanceCheck]]]] = [
        (("step contract",), lambda: [_step_contract(core, seed, walks, walk_length,
                                                     fuzz_bounds)]),
        (("random runs: safety", "random runs: progress"),
         lambda: _random_runs(core, seed, examples, fuzz_bounds)),
        (("exhaustive: safety", "exhaustive: progress"),
         lambda: _exhaustive(core, explore_bounds)),
        *(((f"scenario: {scenario}",), _scenario_check(core, scenario))
          for scenario in SCENARIOS),
    ]
    for names, run in groups:
        if selected & set(names):
            results += [check for check in run() if check.name in selected]
    return ConformanceReport(name, seed, tuple(results))


# ------------------------------------------------------------------------------ the checks


def _check(name: str, passed: bool, reason: str, trace: str | None = None) -> ConformanceCheck:
    reference = REFERENCES.get(name, "the seed's answer to its question")
    return ConformanceCheck(name, reference, passed, _one_line(reason), trace)


def _step_contract(core: Core, seed: int, walks: int, length: int,
                   bounds: Bounds) -> ConformanceCheck:
    """Random walks (`explore`'s simulation) with every call into the core validated
    (checked mode) and every property checked on every step."""
    model = Model(core, Config(), bounds, checked=True)
    result = explore(model, strategy="simulate", seed=seed, walks=walks, walk_depth=length)
    if not result.violations:
        return _check("step contract", True,
                      f"{result.walks} random walks, {result.generated:,} steps: every call "
                      "returned a valid (Node, Effects) and left its input unchanged; every "
                      "property held")
    found = result.violations[0]
    violation, actions = found.violation, list(found.actions)
    where = (f"walk {max(result.walks, 1)}, " + (
        "building the initial state" if not actions and violation.property == CORE_FAULT
        else f"step {len(actions)}: {show_action(actions[-1])}" if actions
        else "the initial state"))
    what = violation.detail if violation.property == CORE_FAULT else str(violation)
    return _check("step contract", False, f"{what} ({where})",
                  _walk_trace(model, actions, violation, max(result.walks, 1)))


def _walk_trace(model: Model, actions: list[Action], violation: Violation,
                walk: int) -> str | None:
    try:
        return render_trace(model, actions, violation, title=f"Walk {walk}")
    except CoreFault:  # a core that fails differently when the walk is replayed
        return None


def _random_runs(core: Core, seed: int, examples: int,
                 bounds: Bounds) -> list[ConformanceCheck]:
    result = fuzz(Model(core, Config(), bounds), seed=seed, examples=examples)
    ran = f"{result.examples} runs, {result.steps:,} steps"
    if result.violation is None:
        safety = _check("random runs: safety", True, f"no property violated in {ran}")
    else:
        safety = _check("random runs: safety", False,
                        f"{result.violation} ({_after(len(result.actions))}, shrunk; "
                        f"seed {seed})", result.trace)
    missing = [goal for goal in FUZZ_GOALS if goal not in result.goals]
    if not missing:
        progress = _check("random runs: progress", True, f"{', '.join(FUZZ_GOALS)} in {ran}")
    else:
        stopped = (f"; the runs stopped at the {result.violation.property} violation"
                   if result.violation is not None else "")
        progress = _check("random runs: progress", False,
                          f"never reached: {', '.join(missing)} in {ran}{stopped}")
    return [safety, progress]


def _exhaustive(core: Core, bounds: Bounds) -> list[ConformanceCheck]:
    model = Model(core, Config(), bounds)
    result = explore(model)
    states = f"{result.distinct:,} state{'' if result.distinct == 1 else 's'}"
    searched = f"{states} within bounds {bounds.describe()}"
    if result.violations:
        found = result.violations[0]
        safety = _check("exhaustive: safety", False,
                        f"{found.violation} ({_after(len(found.actions))}"
                        f"{', a shortest run' if found.shortest else ''})",
                        _explore_trace(model, found))
    elif not result.complete:
        safety = _check("exhaustive: safety", False,
                        f"the search stopped ({result.stop_reason}) after {searched}")
    else:
        safety = _check("exhaustive: safety", True, f"every property holds in all {searched}")
    if "entry committed" in result.goals:
        progress = _check("exhaustive: progress", True, f"an entry is committed ({searched})")
    else:
        progress = _check("exhaustive: progress", False,
                          f"no entry committed in {searched}"
                          + (f"; the search stopped at the {result.violations[0].property} "
                             "violation" if result.violations else ""))
    return [safety, progress]


def _scenario_check(core: Core, scenario: str) -> Callable[[], list[ConformanceCheck]]:
    def run() -> list[ConformanceCheck]:
        name = f"scenario: {scenario}"
        try:
            result = run_scenario(scenario, core)
        except CoreFault as fault:
            return [_check(name, False, f"the core failed: {fault}")]
        if result.passed:
            return [_check(name, True, f"{result.title}: every check held "
                                       f"({len(result.checks)} checks)")]
        if result.violation is not None:
            reason = f"{result.violation} (after step {result.violation_step})"
        else:
            failed = result.failed_checks()
            reason = (f"{failed[0].description}: did not hold"
                      + (f" (and {len(failed) - 1} more checks)" if len(failed) > 1 else ""))
        return [_check(name, False, reason, render_scenario(result))]

    return run


def _name_of(core: object) -> str:
    try:
        name = getattr(core, "name", None)
    except Exception:
        name = None
    return name if isinstance(name, str) and name else type(core).__name__


def _explore_trace(model: Model, found: Counterexample) -> str:
    """The counterexample as `raftcheck explore` prints it, without the run's timings (so a
    report depends on the core and the seed only)."""
    title = "Counterexample (shortest)" if found.shortest else "Counterexample"
    return (render_trace(model, found.actions, found.violation, title=title)
            + "\n\nReplay with Model(core, config, bounds).run(actions):\n"
            + replayable(found.actions))


def _after(count: int) -> str:
    if count == 0:
        return "building the initial state"
    return f"after {count} action{'' if count == 1 else 's'}"


def _one_line(text: str) -> str:
    return " ".join(text.split())
