"""The merchant's margin preference, applied to substitutes already ranked.

Kept apart from the ranking (catalog.services.substitutes) on purpose: the ranking says
what suits the shopper, and this step, run last and only when the policy asks for it
(`prefer_higher_margin_substitutes`), reorders near-equals by what they earn
(catalog.domain.margins). With the setting off it reads nothing and changes nothing.
"""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol, TypeVar

from catalog.domain.margins import prefer_margin, unit_margin
from catalog.policy import SteeringSettings, steering_settings
from catalog.uow import UnitOfWork


class Ranked(Protocol):
    """What the preference reads of a substitute (catalog.services.substitutes.Substitute)."""

    sku: str
    score: float
    price: Decimal | None
    currency: str
    same_item: bool
    preorder: bool


S = TypeVar("S", bound=Ranked)


def higher_margin_first(uow: UnitOfWork, ranked: Sequence[S], settings: SteeringSettings | None = None) -> list[S]:
    """`ranked` with higher-margin substitutes first among equally suitable ones, when the
    merchant asks for it; call inside `with uow:`. Tiers: the same item from another
    supplier, then what is on the shelf, then pre-orders (never crossed)."""
    settings = settings or steering_settings()
    if not settings.prefer_higher_margin or len(ranked) < 2:
        return list(ranked)
    costs = uow.catalog.unit_costs([s.sku for s in ranked])

    def margin(s: S) -> Decimal | None:
        cost, currency = costs.get(s.sku, (None, None))
        return unit_margin(s.price, s.currency, cost, currency)

    return prefer_margin(ranked, tier=lambda s: (s.same_item, s.preorder), score=lambda s: s.score,
                         margin=margin, tolerance=settings.margin_tolerance)
