"""Time to elect a new leader after the leader crashes: the Raft paper's Figure 16
(extended paper §9.3), measured on a core by discrete-event simulation.

Each trial is one run of a five-server cluster in continuous time. The Raft rules are the
core's (`Model.step_node`, the same call the world makes, so a broken core is a `CoreFault`);
the timers follow the timed world's rule (`model.world.timer_after_step`); what this module
adds is what the timed world leaves out, a network that takes time:

* every message is delivered after a one-way delay of a fixed part plus an exponentially
  distributed part (`Setup.delay_ms`, default 1 ms + 3.5 ms on average: most messages are
  quick, a few are slow, as with a LAN and a disk). The paper's cluster had "a broadcast
  time of roughly 15ms", broadcast time being "the average time it takes a server to send
  RPCs in parallel to every server in the cluster and receive their responses" (§5.6); with
  the default delays that is 14.4 ms (`broadcast_ms`). Messages to a crashed server are
  lost; messages a server sent before crashing still arrive;
* each election timeout is drawn uniformly (a real number, not whole milliseconds) from the
  range under test, afresh every time a timer restarts; a leader beats every half of the
  minimum election timeout, as in the paper;
* a trial starts five fresh servers and lets server 0's timer fire first (any leader will
  do), then runs `Setup.warmup_beats` heartbeats of a stable leader, so that every follower's
  timer was last restarted by a heartbeat, as in a cluster that has been up a while. The
  leader is crashed at a time drawn uniformly within the heartbeat interval after its last
  heartbeat (the paper: "crashed uniformly randomly within its heartbeat interval") and stays
  down. (With short timeouts a late heartbeat sometimes lets a follower start an election
  during the warm-up, as the paper warns; a leader deposed before its crash is not crashed,
  and the warm-up goes on with the new one);
* the time measured is from the crash to the moment a server becomes leader (it has votes
  from a majority of the five, in a term after the crashed leader's): the paper's "time
  without leader". The servers learn of it one delay later.

The paper's servers also had logs of different lengths, "so some candidates were not
eligible to become leader"; here every follower holds the same (empty) log, so every
candidate is eligible. docs/timing.md compares the figures.

Everything a trial draws comes from one `random.Random` seeded from (seed, range, trial
number), so a trial's result depends on nothing else: not on the other ranges run, nor on
how many processes share the trials.
"""

from __future__ import annotations

import heapq
import math
import random
import signal
import statistics
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from attrs import frozen

from raftcheck.impl.core import Core
from raftcheck.impl.types import ElectionTimeout, Event, HeartbeatTimeout, Node, Role
from raftcheck.model.search.pool import check_workers, process_context
from raftcheck.model.world import Config, Model, timer_after_step

# The election-timeout ranges of the paper's Figure 16 (ms): the top panel varies the
# randomness above 150 ms, the bottom one scales the minimum.
PAPER_RANGES: tuple[tuple[int, int], ...] = (
    (150, 150), (150, 151), (150, 155), (150, 175), (150, 200), (150, 300),
    (12, 24), (25, 50), (50, 100), (100, 200),
)

# What the paper says of a range, in its words' substance (extended paper §9.3 and Figure 16's
# caption); ranges it gives no figure for are absent. Each entry: the statistic and value for
# the comparison, and the text printed beside the measurement.
PAPER_FIGURES: dict[tuple[int, int], str] = {
    (150, 150): "consistently > 10 s (100 trials)",
    (150, 155): "median 287 ms",
    (150, 200): "max 513 ms",
    (12, 24): "mean 35 ms, max 152 ms",
}

MAX_TIMEOUT_MS = 100_000


@frozen
class Setup:
    """Everything about a trial except its seed and election-timeout range."""

    nodes: int = 5
    # One-way message delay: (fixed, mean of the exponential extra), ms.
    delay_ms: tuple[float, float] = (1.0, 3.5)
    warmup_beats: int = 5  # heartbeats of a stable leader before the crash
    # A trial gives up (and counts as "no leader within the cap": a lower bound) after this
    # much simulated time without a leader, or after this many core steps since the crash,
    # whichever comes first: timeouts shorter than a round trip may never elect anyone.
    cap_ms: float = 30_000.0
    max_steps: int = 50_000

    def __attrs_post_init__(self) -> None:
        fixed, extra = self.delay_ms
        if not (0 <= fixed <= 1_000 and 0 <= extra <= 1_000):
            raise ValueError(f"message delay parts must be between 0 and 1,000 ms, got "
                             f"{fixed:g}+{extra:g}")
        if not 3 <= self.nodes <= 9:
            raise ValueError(f"nodes must be between 3 and 9, got {self.nodes}")
        if self.cap_ms <= 0 or self.max_steps < 1 or self.warmup_beats < 1:
            raise ValueError("cap_ms, max_steps and warmup_beats must be positive")


@frozen
class Trial:
    """One crash and what followed. `ms` is None when no leader was elected within the cap."""

    ms: float | None
    terms: int  # elections it took: the new leader's term minus the crashed leader's


class NoLeaderBeforeCrash(Exception):
    """The core elected no stable leader during a trial's warm-up: there is no leader to
    crash, so nothing to measure (a core that cannot elect, or timeouts too short for the
    network)."""


# ------------------------------------------------------------------------------ one trial

_TIMER, _DELIVER, _CRASH = 0, 1, 2


def trial_seed(seed: int, timeout_ms: tuple[int, int], index: int) -> str:
    """The seed of one trial's generator: a string, so `random.Random` hashes it (SHA-512)
    the same way on every platform and Python."""
    return f"raftcheck-timing:{seed}:{timeout_ms[0]}-{timeout_ms[1]}:{index}"


def trial(model: Model, seed: str | int, timeout_ms: tuple[int, int],
          setup: Setup = Setup()) -> Trial:
    """Run one trial: warm up, crash the leader, and time the next election."""
    rng = random.Random(seed)
    low, high = timeout_ms
    heartbeat = low / 2
    fixed, extra = setup.delay_ms
    rate = 1 / extra if extra else math.inf  # expovariate(inf) is 0.0: no extra delay
    n = setup.nodes
    nodes: list[Node | None] = [model.start_node(i) for i in range(n)]
    generation = [0] * n  # a timer event is live only if it carries its node's generation
    queue: list[tuple[float, int, int, int, Any]] = []
    sequence = 0

    def push(at: float, kind: int, node: int, payload: Any) -> None:
        nonlocal sequence
        heapq.heappush(queue, (at, sequence, kind, node, payload))
        sequence += 1

    def arm(node: int, at: float) -> None:
        generation[node] += 1
        push(at, _TIMER, node, generation[node])

    arm(0, 0.0)  # server 0 times out first: some leader is needed before the experiment
    for i in range(1, n):
        arm(i, rng.uniform(low, high))
    beats = 0  # heartbeats the current leader sent in its term
    leader_term = -1
    crashed: int | None = None
    crash_time = 0.0
    crashed_term = 0
    steps_after_crash = 0
    warmup_limit = (setup.warmup_beats + 20) * high + 1_000.0
    while queue:
        now, _, kind, target, payload = heapq.heappop(queue)
        if crashed is None and now > warmup_limit:
            break
        if crashed is not None and (now - crash_time > setup.cap_ms
                                    or steps_after_crash >= setup.max_steps):
            return Trial(None, _highest_term(nodes) - crashed_term)
        if kind == _CRASH:
            node = nodes[target]
            assert node is not None
            if node.role is not Role.LEADER or node.current_term != payload or any(
                    other.role is Role.LEADER for other in nodes
                    if other is not None and other is not node):
                continue  # deposed since its last heartbeat: warm up the next leader instead
            crashed, crash_time, crashed_term = target, now, node.current_term
            nodes[target] = None
            generation[target] += 1  # its timer dies with it
            continue
        before = nodes[target]
        if before is None:
            continue  # a message to a crashed server is lost
        event: Event
        if kind == _TIMER:
            if payload != generation[target]:
                continue  # restarted since
            if before.role is Role.LEADER:
                arm(target, now + heartbeat)
                event = HeartbeatTimeout()
            else:
                event = ElectionTimeout()
        else:
            event = payload
        after, effects = model.step_node(before, event)
        nodes[target] = after
        if crashed is not None:
            steps_after_crash += 1
        for message in effects.messages:
            push(now + fixed + rng.expovariate(rate), _DELIVER, message.dest, message)
        timer = timer_after_step(before, after, effects.reset_election_timer)
        if timer == "heartbeat":
            arm(target, now + heartbeat)
        elif timer == "election":
            arm(target, now + rng.uniform(low, high))
        if after.role is Role.LEADER and before.role is not Role.LEADER:
            if crashed is not None and after.current_term > crashed_term:
                return Trial(now - crash_time, after.current_term - crashed_term)
            beats, leader_term = 0, after.current_term
        elif (crashed is None and kind == _TIMER and before.role is Role.LEADER
              and after.role is Role.LEADER and after.current_term == leader_term):
            beats += 1
            if beats == setup.warmup_beats:
                push(now + rng.uniform(0.0, heartbeat), _CRASH, target, leader_term)
    if crashed is None:
        raise NoLeaderBeforeCrash(
            f"core {model.core.name!r} kept no leader for {setup.warmup_beats} heartbeats "
            f"within {warmup_limit:,.0f} ms of starting (election timeouts {low}-{high} ms, "
            f"message delay {fixed:g}+{extra:g} ms): no leader to crash")
    return Trial(None, _highest_term(nodes) - crashed_term)  # nothing left to happen


def broadcast_ms(setup: Setup) -> float:
    """The mean broadcast time of `setup`'s network, as the paper defines it (§5.6): a server
    sends an RPC to each of the other servers at once and waits for every answer, so the
    slowest of `nodes - 1` round trips, each two one-way delays. With delays `fixed` plus an
    exponential of mean `extra`, a round trip is 2 * fixed plus a gamma(2, extra) variable,
    whose maximum over k peers has mean 2 * fixed + extra * integral of 1 - G(y)^k, with
    G(y) = 1 - e^-y (1 + y) (computed numerically)."""
    fixed, extra = setup.delay_ms
    peers = setup.nodes - 1
    step, total, y = 0.001, 0.0, 0.0
    while y < 60.0:
        middle = y + step / 2
        total += 1 - (1 - math.exp(-middle) * (1 + middle)) ** peers
        y += step
    return 2 * fixed + extra * total * step


def _highest_term(nodes: Sequence[Node | None]) -> int:
    return max(node.current_term for node in nodes if node is not None)


# ------------------------------------------------------------------------------ a range


@frozen
class RangeResult:
    """Every trial of one election-timeout range, and their statistics. A trial that elected
    no leader within the cap counts as infinitely long: a statistic it reaches is shown as
    "more than the cap"."""

    timeout_ms: tuple[int, int]
    trials: tuple[Trial, ...]

    @property
    def times(self) -> list[float]:
        """Milliseconds per trial, sorted; `math.inf` for a trial cut off by the cap."""
        return sorted(math.inf if t.ms is None else t.ms for t in self.trials)

    @property
    def censored(self) -> int:
        return sum(1 for t in self.trials if t.ms is None)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def mean(self) -> float:
        return math.inf if self.censored else statistics.fmean(self.times)

    def mean_at_cap(self, cap_ms: float) -> float:
        """The mean counting each trial cut off at the cap as lasting exactly the cap: a lower
        bound of the true mean when some were."""
        return statistics.fmean(min(value, cap_ms) for value in self.times)

    @property
    def p99(self) -> float:
        return quantile(self.times, 0.99)

    @property
    def maximum(self) -> float:
        return self.times[-1]

    @property
    def mean_terms(self) -> float:
        return statistics.fmean(t.terms for t in self.trials)

    @property
    def label(self) -> str:
        return range_label(self.timeout_ms)


def quantile(ordered: Sequence[float], q: float) -> float:
    """The nearest-rank quantile of sorted values: the smallest value with at least a fraction
    `q` of the values at or below it."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def range_label(timeout_ms: tuple[int, int]) -> str:
    return f"{timeout_ms[0]}-{timeout_ms[1]}"


def parse_ranges(text: str) -> tuple[tuple[int, int], ...]:
    """`150-155,12-24` -> ((150, 155), (12, 24)); `paper` -> the paper's ten. ValueError with
    a one-line reason otherwise."""
    if text.strip() == "paper":
        return PAPER_RANGES
    ranges: list[tuple[int, int]] = []
    for part in text.split(","):
        low_text, dash, high_text = part.strip().partition("-")
        try:
            low, high = int(low_text), int(high_text if dash else low_text)
        except ValueError:
            raise ValueError(f"not a range of milliseconds: {part.strip()!r} "
                             "(expected LOW-HIGH, e.g. 150-300)") from None
        if not 1 <= low <= high <= MAX_TIMEOUT_MS:
            raise ValueError(f"range {part.strip()!r}: need 1 <= LOW <= HIGH <= "
                             f"{MAX_TIMEOUT_MS:,} ms")
        if (low, high) in ranges:
            raise ValueError(f"range {low}-{high} given twice")
        ranges.append((low, high))
    return tuple(ranges)


# ------------------------------------------------------------------------------ the measurement


@frozen
class TimingResult:
    core: str
    seed: int
    trials: int  # per range
    setup: Setup
    ranges: tuple[RangeResult, ...]
    seconds: float
    workers: int


# The chunks of trials a process runs at once: small enough to share the work evenly, large
# enough that shipping results costs nothing.
CHUNK = 50

_WORKER: dict[str, Any] = {}


def _worker_init(model: Model, seed: int, setup: Setup) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    _WORKER.update(model=model, seed=seed, setup=setup)


def _run_chunk(task: tuple[tuple[int, int], int, int]) -> list[Trial]:
    return _trials(_WORKER["model"], _WORKER["seed"], _WORKER["setup"], *task)


def _trials(model: Model, seed: int, setup: Setup, timeout_ms: tuple[int, int], start: int,
            stop: int) -> list[Trial]:
    return [trial(model, trial_seed(seed, timeout_ms, index), timeout_ms, setup)
            for index in range(start, stop)]


def measure(core: Core, *, seed: int, ranges: Sequence[tuple[int, int]] = PAPER_RANGES,
            trials: int = 1_000, setup: Setup = Setup(), workers: int = 1,
            on_progress: Callable[[tuple[int, int], int], None] | None = None
            ) -> Iterator[RangeResult]:
    """Run `trials` trials per range, range by range, yielding each range's result when it is
    complete. `on_progress(range, trials done)` is called as chunks finish. The results do
    not depend on `workers`. Raises `CoreFault` (the core broke while running) and
    `NoLeaderBeforeCrash`."""
    check_workers(workers)
    if trials < 1:
        raise ValueError("trials must be at least 1")
    model = Model(core, Config(cluster_size=setup.nodes))
    tasks = [(timeout, start, min(start + CHUNK, trials))
             for timeout in ranges for start in range(0, trials, CHUNK)]
    if workers == 1:
        results: Iterator[list[Trial]] = (_trials(model, seed, setup, *task) for task in tasks)
        yield from _collect(tasks, results, trials, on_progress)
        return
    context = process_context()
    with context.Pool(workers, initializer=_worker_init, initargs=(model, seed, setup)) as pool:
        yield from _collect(tasks, pool.imap(_run_chunk, tasks), trials, on_progress)


def _collect(tasks: Sequence[tuple[tuple[int, int], int, int]], results: Iterator[list[Trial]],
             trials: int, on_progress: Callable[[tuple[int, int], int], None] | None
             ) -> Iterator[RangeResult]:
    done: list[Trial] = []
    for (timeout, _, stop), chunk in zip(tasks, results, strict=True):
        done += chunk
        if on_progress is not None:
            on_progress(timeout, stop)
        if stop == trials:
            yield RangeResult(timeout, tuple(done))
            done = []


# ------------------------------------------------------------------------------ the plot

PLOT_SUFFIXES = (".png", ".svg")


def plotting_available() -> bool:
    """Whether matplotlib (the `plot` extra) can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def plot(results: Sequence[RangeResult], path: str, *, seed: int, setup: Setup,
         core: str) -> None:
    """The cumulative distribution of the time without a leader, one line per range, like the
    paper's Figure 16: the ranges starting at 150 ms in the top panel, the others below, a
    log-scale time axis. A range with trials cut off by the cap ends below 100%. PNG or SVG
    by the file's suffix. Raises ImportError without matplotlib, OSError if it cannot write."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [[r for r in results if r.timeout_ms[0] == 150],
              [r for r in results if r.timeout_ms[0] != 150]]
    panels = [panel for panel in panels if panel]
    figure, axes = plt.subplots(len(panels), 1, figsize=(7.5, 3.4 * len(panels)),
                                squeeze=False)
    trials = max((len(r.trials) for r in results), default=0)
    for axis, panel in zip(axes[:, 0], panels, strict=True):
        finite = [value for r in panel for value in r.times if not math.isinf(value)]
        for result in panel:
            times = [value for value in result.times if not math.isinf(value)]
            count = len(result.trials)
            xs = [value for value in times for _ in (0, 1)]
            ys = [100 * (i + step) / count for i in range(len(times)) for step in (0, 1)]
            if result.censored:  # the line runs on flat to the cap: no leader by then
                xs.append(setup.cap_ms)
                ys.append(ys[-1] if ys else 0.0)
            axis.plot(xs, ys, linewidth=1.4, label=f"{result.label}ms")
        axis.set_xscale("log")
        high = max([*finite, *(setup.cap_ms for r in panel if r.censored)], default=1_000.0)
        axis.set_xlim(_round_down(quantile(sorted(finite), 0.01) if finite else 10.0),
                      10 ** math.ceil(math.log10(high)))
        axis.set_ylim(0, 100)
        axis.set_ylabel("cumulative percent")
        axis.grid(True, which="major", alpha=0.3)
        axis.legend(loc="lower right", fontsize="small", frameon=False)
    axes[-1, 0].set_xlabel("time without leader (ms)")
    axes[0, 0].set_title(f"raftcheck timing: core {core}, {setup.nodes} servers, {trials:,} "
                         f"trials per range, seed {seed}\nbroadcast time "
                         f"{broadcast_ms(setup):.1f} ms; cut off after "
                         f"{setup.cap_ms / 1_000:g} s", fontsize="medium")
    figure.tight_layout()
    metadata = {"Date": None} if path.lower().endswith(".svg") else {}
    try:
        figure.savefig(path, metadata=metadata, dpi=110)
    finally:
        plt.close(figure)


def _round_down(value: float) -> float:
    """The largest of 1, 2 or 5 times a power of ten at or below `value`: where a panel's
    time axis starts (its fastest 1% of trials on the edge, none cut off but outliers)."""
    power = 10.0 ** math.floor(math.log10(max(value, 1e-3)))
    return max(step * power for step in (1, 2, 5) if step * power <= max(value, 1e-3))
