"""The merchant's margin as the last word in ordering substitutes, never the first.

A merchant may ask for higher-margin substitutes first (policy
`prefer_higher_margin_substitutes`). What a shopper needs still decides: the ranking
that put the substitutes in order (same kind, price band, similarity, on the shelf
before pre-orders) is kept, and margin only reorders substitutes the ranking found
about equally good. Precisely:

- a substitute never moves past one of another tier: the same item from another
  supplier stays first, what is on the shelf stays before what can only be pre-ordered;
- within a tier it moves ahead only of substitutes whose score is at most `tolerance`
  higher than its own (0: only ties are broken by margin);
- a substitute whose margin is unknown (no unit cost, another currency) keeps its
  place: none goes ahead of it, and it goes ahead of none, for margin.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from decimal import Decimal
from typing import TypeVar

T = TypeVar("T")


def unit_margin(price: Decimal | None, currency: str, cost: Decimal | None, cost_currency: str | None) -> Decimal | None:
    """What one unit earns: price - unit cost, when both are known in one currency."""
    if price is None or cost is None or cost_currency != currency:
        return None
    return price - cost


def prefer_margin(items: Sequence[T], tier: Callable[[T], Hashable], score: Callable[[T], float],
                  margin: Callable[[T], Decimal | None], tolerance: float) -> list[T]:
    """`items` (ranked best first) with higher-margin ones first among near-equals.

    Tiers are runs of consecutive items with the same `tier` key, so whatever separates
    them in the ranking (availability first of all) still does. Within a run the next
    item is the one with the highest known margin among those scoring within `tolerance`
    of every item they would pass; ties keep the ranking's order. Without known margins
    the order is the ranking's."""
    out: list[T] = []
    start = 0
    while start < len(items):
        end = start
        while end < len(items) and tier(items[end]) == tier(items[start]):
            end += 1
        out += _within(list(items[start:end]), score, margin, tolerance)
        start = end
    return out


def _within(run: list[T], score: Callable[[T], float], margin: Callable[[T], Decimal | None],
            tolerance: float) -> list[T]:
    out: list[T] = []
    while run:
        out.append(run.pop(_next(run, score, margin, tolerance)))
    return out


def _next(run: list[T], score: Callable[[T], float], margin: Callable[[T], Decimal | None], tolerance: float) -> int:
    """Which of `run` goes next: the first, unless a later one with a higher margin scores
    within `tolerance` of everything it would pass (and passes no unknown margin)."""
    if margin(run[0]) is None:
        return 0
    best, top = 0, score(run[0])
    for i in range(1, len(run)):
        if margin(run[i - 1]) is None:
            break  # nothing passes an item whose margin is unknown
        if score(run[i]) >= top - tolerance and margin(run[i]) is not None and margin(run[i]) > margin(run[best]):
            best = i
        top = max(top, score(run[i]))
    return best
