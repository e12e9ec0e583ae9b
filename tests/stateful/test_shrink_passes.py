"""`model.shrink.delete_chunks`, the one deletion shrinker, with a model's own passes: a pass
runs when no chunk can go, its first candidate that still fails is kept, and deletion starts
again on it; the budget bounds every attempt, passes included."""

from __future__ import annotations

from collections.abc import Iterator

from raftcheck.model.shrink import delete_chunks

ITEMS = ["a", "b", "a", "a", "b", "a"]


def at_least_four_a(candidate: list[str]) -> list[str] | None:
    """Fails (returns what it kept) while the items that are all 'a' hold four of them."""
    return candidate if sum(len(x) for x in candidate if set(x) == {"a"}) >= 4 else None


def merge_neighbours(items: list[str]) -> Iterator[list[str]]:
    for i in range(len(items) - 1):
        yield [*items[:i], items[i] + items[i + 1], *items[i + 2:]]


def test_deletion_alone_stops_where_every_item_is_needed() -> None:
    assert delete_chunks(ITEMS, at_least_four_a, budget=1_000) == ["a", "a", "a", "a"]


def test_a_pass_goes_on_where_deletion_stops() -> None:
    assert delete_chunks(ITEMS, at_least_four_a, budget=1_000,
                         passes=[merge_neighbours]) == ["aaaa"]


def test_the_budget_counts_the_passes_attempts_too() -> None:
    calls: list[int] = []

    def counted(candidate: list[str]) -> list[str] | None:
        calls.append(len(candidate))
        return at_least_four_a(candidate)

    for budget in range(1, 30):
        calls.clear()
        delete_chunks(ITEMS, counted, budget=budget, passes=[merge_neighbours])
        assert len(calls) <= budget
