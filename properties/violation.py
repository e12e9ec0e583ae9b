"""The structured witness every property returns instead of a bare bool (STYLE lesson 9)."""

from __future__ import annotations

from attrs import frozen


@frozen
class Violation:
    """What broke (`property`, named as in the Raft paper), where (`nodes`, `index`, `term`),
    what was seen (`detail`) and why it matters (`why`)."""

    property: str
    detail: str
    why: str
    nodes: tuple[int, ...] = ()
    index: int | None = None
    term: int | None = None

    def __str__(self) -> str:
        return f"{self.property}: {self.detail}"
