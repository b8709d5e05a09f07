"""The stock answer for a product, read from the database at the moment of asking."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from catalog.config import low_stock_threshold
from catalog.domain.products import ProductInfo
from catalog.domain.stock import Outlook, StockOutlook, VariantStock, outlook_for
from catalog.domain.variants import matches
from catalog.uow import UnitOfWork

_PREFERENCE = {
    Outlook.IN_STOCK: 0, Outlook.LOW_STOCK: 0, Outlook.INCOMING: 1, Outlook.OTHER_SUPPLIER: 2,
    Outlook.LEAD_TIME: 3, Outlook.NO_RESTOCK: 4,
}


@dataclass(frozen=True)
class VariantAnswer:
    stock: VariantStock
    outlook: StockOutlook


@dataclass(frozen=True)
class StockReport:
    product: ProductInfo
    asked_color: str | None
    asked_size: str | None
    variant_exists: bool  # False when the asked size/colour is not made at all
    best: VariantAnswer  # the most useful answer among the variants asked about
    asked: tuple[VariantAnswer, ...]  # every variant matching the question
    others_in_stock: tuple[VariantAnswer, ...]  # other variants on the shelf, as suggestions

    @property
    def has_variants(self) -> bool:
        return len(self.product.variant_skus) > 1


def product_variants(uow: UnitOfWork, product_id: int, color: str | None = None,
                     size: str | None = None) -> list[VariantStock]:
    """A product's variants with their stock (those in the colour and size asked, when asked)."""
    with uow:
        variants = uow.catalog.variant_stock(product_id)
    return [v for v in variants if matches(color, size, v.color, v.size)] if (color or size) else variants


def check_stock(
    uow: UnitOfWork, product: ProductInfo, today: dt.date, color: str | None = None, size: str | None = None,
    sku: str | None = None,
) -> StockReport | None:
    """The answer to "is it in stock?" about a product (a colour, size or variant of it)."""
    low = low_stock_threshold()
    variants = product_variants(uow, product.id)
    if not variants:
        return None
    answers = [VariantAnswer(v, outlook_for(v, today, low)) for v in variants]
    if sku:
        asked = [a for a in answers if a.stock.sku.upper() == sku.upper()]
    else:
        asked = [a for a in answers if matches(color, size, a.stock.color, a.stock.size)]
    exists = bool(asked)
    if not asked:
        asked = answers
    best = min(asked, key=_rank)
    others = tuple(a for a in answers if a not in asked and a.stock.available > 0)
    return StockReport(product, color, size, exists, best, tuple(asked), others)


def _rank(a: VariantAnswer) -> tuple:
    o = a.outlook
    if o.outlook in (Outlook.IN_STOCK, Outlook.LOW_STOCK):
        return (0, -o.available)
    if o.outlook is Outlook.INCOMING:
        return (1, o.restock_date or dt.date.max)
    if o.outlook is Outlook.LEAD_TIME:
        return (3, o.lead_time_days or 0)
    return (_PREFERENCE[o.outlook], 0)
