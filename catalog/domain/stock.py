"""Stock arithmetic and the restock outlook, free of any framework.

Everything a shopper is told about availability is decided here from plain values,
so the same rules serve the chat, the shop, the console and tests alike. (Available to
sell itself is derived in one query, catalog.db.promises.available_query.)
"""
from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class IncomingLine:
    """Units still to arrive on an open purchase-order line."""

    quantity: int
    eta: dt.date | None
    supplier: str


@dataclass(frozen=True)
class Offer:
    supplier: str
    price: Decimal | None
    currency: str
    lead_time_days: int | None
    supplier_qty: int | None
    is_primary: bool
    reliability: Decimal | None = None


class Outlook(enum.Enum):
    IN_STOCK = "in_stock"
    LOW_STOCK = "low_stock"
    INCOMING = "incoming"  # out now, an open purchase order is due
    OTHER_SUPPLIER = "other_supplier"  # out now, usual supplier out, another can ship
    LEAD_TIME = "lead_time"  # out now, no PO open, the usual supplier restocks in N days
    NO_RESTOCK = "no_restock"


@dataclass(frozen=True)
class VariantStock:
    sku: str
    color: str | None
    size: str | None
    price: Decimal
    currency: str
    available: int
    incoming: tuple[IncomingLine, ...] = ()
    offers: tuple[Offer, ...] = ()
    preorder_allowed: bool = False
    backorder_allowed: bool = False


@dataclass(frozen=True)
class StockOutlook:
    """What to tell a shopper about one variant (or the best of several)."""

    outlook: Outlook
    sku: str
    available: int
    restock_date: dt.date | None = None
    restock_qty: int | None = None
    overdue: bool = False
    lead_time_days: int | None = None
    alternative: Offer | None = None
    can_preorder: bool = False
    can_backorder: bool = False


def outlook_for(stock: VariantStock, today: dt.date, low_threshold: int) -> StockOutlook:
    """Decide the answer for one variant.

    Order of preference follows what a shopper can act on soonest: units on the shelf,
    then units already on their way (earliest open purchase order), then another
    supplier that can ship when the usual one cannot, then the usual lead time.
    """
    common = dict(sku=stock.sku, available=stock.available, can_backorder=stock.backorder_allowed)
    if stock.available > 0:
        kind = Outlook.LOW_STOCK if stock.available <= low_threshold else Outlook.IN_STOCK
        return StockOutlook(kind, **common)

    dated = sorted((line for line in stock.incoming if line.quantity > 0), key=_eta_key)
    if dated:
        first = dated[0]
        return StockOutlook(
            Outlook.INCOMING,
            restock_date=first.eta,
            restock_qty=first.quantity,
            overdue=first.eta is not None and first.eta < today,
            can_preorder=stock.preorder_allowed,
            **common,
        )

    primary = usual_offer(stock.offers)
    primary_out = primary is not None and primary.supplier_qty == 0
    best = best_other_supplier(stock.offers)
    if best is not None and (primary is None or primary_out):
        return StockOutlook(Outlook.OTHER_SUPPLIER, alternative=best, lead_time_days=best.lead_time_days, **common)

    if primary is not None and primary.lead_time_days is not None and not primary_out:
        return StockOutlook(Outlook.LEAD_TIME, lead_time_days=primary.lead_time_days, **common)
    return StockOutlook(Outlook.NO_RESTOCK, **common)


def usual_offer(offers: Iterable[Offer]) -> Offer | None:
    """The merchant's usual supplier's offer."""
    return next((o for o in offers if o.is_primary), None)


def usual_lead_time(offers: Iterable[Offer]) -> int | None:
    """Days until a new order arrives: the usual supplier's, else any supplier's."""
    offers = list(offers)
    chosen = usual_offer(offers) or (offers[0] if offers else None)
    return chosen.lead_time_days if chosen is not None else None


def best_other_supplier(offers: Iterable[Offer], stock_known: bool = False) -> Offer | None:
    """Another supplier that can ship: the fastest, then the cheapest. A supplier whose stock
    is unknown counts, unless `stock_known` (a suggestion must say how many it has)."""
    others = [o for o in offers if not o.is_primary and
              (o.supplier_qty > 0 if o.supplier_qty is not None else not stock_known)]
    return min(others, key=shipping_preference) if others else None


def shipping_preference(offer: Offer, price_if_unset: Decimal | None = None) -> tuple:
    """Which supplier is preferred: the fastest, then the cheapest (an offer without a price
    costs `price_if_unset`, or comes after the priced ones)."""
    price = offer.price if offer.price is not None else price_if_unset
    return (offer.lead_time_days if offer.lead_time_days is not None else 10**6, price is None, price or 0)


def _eta_key(line: IncomingLine) -> tuple[int, dt.date]:
    return (0, line.eta) if line.eta is not None else (1, dt.date.max)
