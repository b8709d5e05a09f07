""""Goes with" suggestions as the shopper reads them: one short line of its own after a
reservation is confirmed, apart from any substitute, never worded as a replacement; and
why each was chosen, for the merchant (`python -m catalog goes-with SKU`)."""
from __future__ import annotations

from catalog.domain.complements import Relation
from catalog.services.complements import Complement, GoesWith
from catalog.wording.format import listing, money, product_name


def goes_with(found: GoesWith) -> str | None:
    """"Goes with your Vantrel Ruxby 7: Dunmark Spare Globe for the Vantrel Ruxby 7 ($14.00) - in stock now."
    None when nothing goes with it."""
    if not found.complements:
        return None
    items = [f"{product_name(c.title, c.brand)} ({money(c.price, c.currency)})" for c in found.complements]
    return f"Goes with your {product_name(found.title, found.brand)}: {listing(items, 'and')} - in stock now."


_WHY = {
    Relation.NAMES_IT: "made for this model",
    Relation.SAME_LINE: "an add-on of the same model",
    Relation.FOR_THE_BRAND: "made for this brand's products",
}


def relation_text(c: Complement) -> str:
    """Why a product is suggested with the item: "made for this model", "bought together in 3 orders"."""
    if c.relation is Relation.BOUGHT_TOGETHER:
        return f"bought together in {c.bought_together} orders"
    return _WHY[c.relation]
