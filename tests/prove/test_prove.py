"""`prove`: the invariant is inductive for the correct rules, every action is alive under
it, and each zoo bug the encoding expresses yields a counterexample to induction naming the
action it breaks. Reference: docs/prove.md."""

from __future__ import annotations

import time

import pytest

from raftcheck.impl.broken import ZOO
from raftcheck.model.prove.checks import prove
from raftcheck.model.prove.encoding import ACTION_KINDS, NOT_ENCODED, RULES, Encoding, Sizes
from raftcheck.model.prove.invariant import LEMMAS, by_name

SMALL = Sizes(nodes=3, max_term=2, max_log=2, slots=2)
# a length-only up-to-date check is only wrong when the voter's last term is above the
# candidate's, whose log is longer: the candidate's term is then at least 3
TERM3 = Sizes(nodes=3, max_term=3, max_log=1, slots=2)

# every encodable zoo bug: the action at which its rule first breaks the invariant, and
# the sizes at which the test asks (the smallest we found with a CTI there)
BROKEN_ACTION: dict[str, tuple[str, Sizes]] = {
    "vote-without-up-to-date-check": ("Deliver(RequestVote)", SMALL),
    "up-to-date-by-length-only": ("Deliver(RequestVote)", TERM3),
    "two-votes-per-term": ("Deliver(RequestVote)", SMALL),
    "voted-for-not-persisted": ("Crash", SMALL),  # the restart will read no vote
    "current-term-not-persisted": ("Crash", SMALL),  # ... an older term
    "commit-previous-term-by-counting": ("Deliver(AppendEntriesResponse)", SMALL),
    "truncate-on-stale-append": ("Deliver(AppendEntries)", SMALL),
    "append-without-consistency-check": ("Deliver(AppendEntries)", SMALL),
    "commit-to-leader-commit": ("Deliver(AppendEntries)", SMALL),
    "match-index-from-leader-log": ("Deliver(AppendEntriesResponse)", SMALL),
    "ack-beyond-request": ("Deliver(AppendEntries)", SMALL),
    "accept-stale-term-append": ("Deliver(AppendEntries)", SMALL),
    "act-on-stale-responses": ("Deliver(RequestVoteResponse)", SMALL),
    "no-step-down-on-higher-term": ("Deliver(RequestVote)", SMALL),  # any higher-term message
    "quorum-off-by-one": ("Timeout", SMALL),  # quorum(3) = 1: a candidate elects itself at once
}


def test_every_zoo_bug_is_encoded_or_says_why_not() -> None:
    """A bug added to the zoo must be given a rule set (and a CTI test) or a reason."""
    zoo = {core.name for core in ZOO}
    assert set(RULES) - {"raft"} | set(NOT_ENCODED) == zoo
    assert not set(RULES) & set(NOT_ENCODED)
    assert set(BROKEN_ACTION) == set(RULES) - {"raft"}


def test_the_correct_rules_are_inductive_at_small_sizes() -> None:
    """Terms ≤ 2 and one-entry logs: still elections in two terms, conflicts truncating
    index 1, commits, crashes (3/2/2 and up run under the slow marker)."""
    result = prove(Sizes(nodes=3, max_term=2, max_log=1, slots=2))
    assert result.inductive, [(c.kind, c.action, c.lemma) for c in result.failed()]
    kinds = {c.kind for c in result.checks}
    assert kinds == {"initiation", "consecution", "enabledness"}
    consecution = {(c.action, c.lemma) for c in result.checks if c.kind == "consecution"}
    assert len(consecution) == len(ACTION_KINDS) * len(LEMMAS)


@pytest.mark.slow
@pytest.mark.parametrize("sizes", [
    Sizes(3, 2, 2, 2),
    Sizes(3, 3, 3, 4),
    Sizes(5, 3, 3, 4),  # the deep run: about 8 minutes of one core (docs/prove.md)
], ids=["3-2-2", "3-3-3", "5-3-3"])
def test_the_correct_rules_are_inductive_at_target_sizes(sizes: Sizes) -> None:
    result = prove(sizes, minimise=False)
    assert result.inductive, [(c.kind, c.action, c.lemma) for c in result.failed()]


@pytest.mark.parametrize("name", sorted(BROKEN_ACTION))
def test_each_zoo_bug_gives_a_cti_at_its_action(name: str) -> None:
    """Only the bug's action is checked: its CTI must be found there, minimised."""
    action, sizes = BROKEN_ACTION[name]
    broken = prove(sizes, RULES[name], actions=(action,), first_cti_only=True)
    assert broken.ctis, f"{name}: no CTI at {action}"
    cti = broken.ctis[0]
    assert cti.action_kind == action
    assert cti.minimised
    assert cti.seconds < 5
    text = cti.render()
    assert cti.lemma in text and "pre-state" in text and "post-state" in text


@pytest.mark.parametrize("sizes", [SMALL, TERM3], ids=Sizes.describe)
def test_the_correct_rules_prove_each_bugs_action(sizes: Sizes) -> None:
    """The control for the test above: at the same sizes and actions the correct rules
    have no CTI, so each CTI there is the bug's and not a weakness of the invariant."""
    actions = tuple(sorted({a for a, at in BROKEN_ACTION.values() if at == sizes}))
    result = prove(sizes, actions=actions)
    assert {c.action for c in result.checks if c.kind == "consecution"} == set(actions)
    assert result.inductive, [(c.kind, c.action, c.lemma) for c in result.failed()]


def test_a_dead_action_fails_the_enabledness_check() -> None:
    """An encoding whose Submit can never fire must not 'prove' anything about Submit."""

    class DeadSubmit(Encoding):
        def submit(self, pre, i):  # type: ignore[no-untyped-def]
            import z3
            from attrs import evolve

            return evolve(super().submit(pre, i), guard=z3.BoolVal(False))

    import raftcheck.model.prove.checks as checks

    original = checks.Encoding
    checks.Encoding = DeadSubmit  # type: ignore[misc]
    try:
        result = prove(SMALL, actions=("Submit",))
    finally:
        checks.Encoding = original  # type: ignore[misc]
    failed = [(c.kind, c.action) for c in result.failed()]
    assert failed == [("enabledness", "Submit")]
    assert not result.inductive


def test_dropping_an_auxiliary_lemma_shows_why_it_is_needed() -> None:
    """Without "One Vote Per Term", a node's voted_for need not match the votes recorded,
    and a second vote in a term breaks the quorum reasoning: a CTI at a vote delivery."""
    result = prove(SMALL, drop=("One Vote Per Term",), actions=("Deliver(RequestVote)",),
                   first_cti_only=True)
    assert not result.inductive
    assert result.ctis and result.ctis[0].action_kind == "Deliver(RequestVote)"


def test_lemma_names_resolve_loosely() -> None:
    assert by_name("one-vote-per-term").name == "One Vote Per Term"
    assert by_name("election safety").name == "Election Safety"
    with pytest.raises(KeyError):
        by_name("no such lemma")


def test_cti_is_found_and_minimised_quickly() -> None:
    started = time.monotonic()
    result = prove(SMALL, RULES["two-votes-per-term"], actions=("Deliver(RequestVote)",),
                   first_cti_only=True)
    assert result.ctis
    assert result.ctis[0].seconds < 1.0, result.ctis[0].seconds  # docs: measured 0.2 s
    assert time.monotonic() - started < 30


FIVE = Sizes(nodes=5, max_term=2, max_log=1, slots=4)


def test_five_nodes_need_the_acknowledgement_before_the_vote() -> None:
    """docs/prove.md, 5/3/3: with five nodes, a stale leader's third acknowledgement can
    arrive after the first two acknowledgers voted for a new leader. The full invariant
    proves the AppendEntries delivery at 5/2/1; without Acked In Voted Candidates the
    solver may pick a new leader lacking the acknowledged entry, and Committable Held By
    Ackers breaks there."""
    action = ("Deliver(AppendEntries)",)
    assert prove(FIVE, actions=action, minimise=False).inductive
    result = prove(FIVE, drop=("Acked In Voted Candidates",), actions=action,
                   first_cti_only=True)
    assert result.ctis and result.ctis[0].lemma == "Committable Held By Ackers"
