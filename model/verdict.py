"""One vocabulary for results: every engine's verdict, its exit code, and the one usage error.

A verdict is a promise about what was checked. The clean ones (PASS, CLEAN, EQUIVALENT,
INDUCTIVE, ...) are said only of a check that was complete for what it states; anything cut
short by a budget, a bound, a signal, or that reached none of its goals is INCONCLUSIVE-kind
(exit 3), never clean. Engines return values carrying a `Verdict`; only the command line
prints them and turns them into exit codes, through `Verdict.exit_code`.
"""

from __future__ import annotations

import enum


class Exit(enum.IntEnum):
    """The process exit codes, the same for every command."""

    CLEAN = 0  # every property held and the check was complete for what it states
    VIOLATION = 1  # a property was violated, or two cores diverged: a counterexample
    USAGE = 2  # bad usage or input: one line on stderr, never a traceback
    INCONCLUSIVE = 3  # stopped on a budget, bound or signal, or reached none of its goals
    ADAPTER = 4  # a live-system adapter failed: not a finding about Raft


class Verdict(enum.Enum):
    """What a check concluded. The value is the word printed; `exit_code` is the one place a
    verdict becomes an exit code."""

    # clean, complete for what was stated
    PASS = "PASS"  # explore: every reachable state within the bounds checked
    CLEAN = "CLEAN"  # fuzz, check, scenarios: the budget ran, nothing broke, goals reached
    EQUIVALENT = "EQUIVALENT"  # diff: no divergence on any schedule checked
    INDUCTIVE = "INDUCTIVE"  # prove: the invariant is inductive at the stated sizes
    ALL_CAUGHT = "ALL CAUGHT"  # break: every engine caught every bug it was run on
    FIXED = "FIXED"  # replay: the saved violation no longer happens
    # a finding
    VIOLATION = "VIOLATION"
    DIVERGENT = "DIVERGENT"
    NOT_INDUCTIVE = "NOT INDUCTIVE"
    ESCAPED = "ESCAPED"  # break: some engine missed a bug it should catch
    REPRODUCED = "REPRODUCED"
    DIFFERENT = "DIFFERENT VIOLATION"
    # nothing promised
    INCONCLUSIVE = "INCONCLUSIVE"  # a budget, bound or signal cut the check short
    INCOMPLETE = "INCOMPLETE"  # explore: the search stopped before the bounds were exhausted
    VACUOUS = "BROKEN MODEL"  # complete, but no reachability goal was ever reached
    STOPS_APPLYING = "STOPS APPLYING"  # replay: a saved step is no longer possible
    ADAPTER_FAULT = "ADAPTER FAULT"

    @property
    def exit_code(self) -> Exit:
        return _EXIT[self]

    @property
    def is_clean(self) -> bool:
        return self.exit_code is Exit.CLEAN


_EXIT: dict[Verdict, Exit] = {
    **dict.fromkeys((Verdict.PASS, Verdict.CLEAN, Verdict.EQUIVALENT, Verdict.INDUCTIVE,
                     Verdict.ALL_CAUGHT, Verdict.FIXED), Exit.CLEAN),
    **dict.fromkeys((Verdict.VIOLATION, Verdict.DIVERGENT, Verdict.NOT_INDUCTIVE,
                     Verdict.ESCAPED, Verdict.REPRODUCED, Verdict.DIFFERENT), Exit.VIOLATION),
    **dict.fromkeys((Verdict.INCONCLUSIVE, Verdict.INCOMPLETE, Verdict.VACUOUS,
                     Verdict.STOPS_APPLYING), Exit.INCONCLUSIVE),
    Verdict.ADAPTER_FAULT: Exit.ADAPTER,
}


class UsageError(ValueError):
    """Bad options or input, found after argument parsing: one line on stderr, exit 2.
    The one usage error every command and engine raises."""
