""""Goes with" suggestions for an item a shopper bought: accessories and companions on the
shelf now, shown apart from substitutes and never instead of the item.

The rules are catalog.domain.complements; this gathers what they need in a handful of
queries: the products that mention the item's brand or name words (in their titles or
reference attributes, like `compatible_with`), which of those words other brands use in
their own names too (a descriptor such as "dimmable" identifies nothing), the products
bought with it in past orders, and the stock of every candidate. Only variants with
units on the shelf are suggested: a shopper is not sent off to wait for an add-on.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal

from catalog.domain.complements import (
    MIN_BOUGHT_TOGETHER,
    Item,
    Relation,
    candidate_name_words,
    identity,
    name_words,
    rank_key,
    relation,
    tokens,
)
from catalog.domain.products import sku_key
from catalog.domain.substitutes import VariantOption
from catalog.policy import steering_settings
from catalog.uow import UnitOfWork

MENTIONS_PER_WORD = 200  # products read per word; a word in more titles than this identifies nothing


@dataclass(frozen=True)
class Complement:
    sku: str
    product_id: int
    title: str
    brand: str | None
    price: Decimal
    currency: str
    available: int
    relation: Relation
    bought_together: int = 0


@dataclass(frozen=True)
class GoesWith:
    """What goes with the item bought (`sku`), best first."""

    sku: str
    title: str
    brand: str | None
    complements: tuple[Complement, ...]


class UnknownItem(LookupError):
    pass


def goes_with(uow: UnitOfWork, sku: str, limit: int | None = None) -> GoesWith:
    """Up to `limit` (policy `goes_with_suggestions` when None) in-stock products that go
    with the product of `sku`, one variant each."""
    limit = steering_settings().goes_with if limit is None else limit
    with uow:
        product = uow.catalog.product_for_sku(sku)
        if product is None:
            raise UnknownItem(sku)
        if limit <= 0:
            return GoesWith(sku, product.title, product.brand, ())
        item = Item(product.id, product.title, product.brand, product.category, product.attributes)
        mentions = {w: uow.catalog.products_mentioning(w, MENTIONS_PER_WORD) for w in candidate_name_words(item)}
        shared = {w for w, rows in mentions.items() if _brands_naming(w, rows) >= 2}
        who = identity(item, shared)
        for word in who.brand:
            mentions[word] = uow.catalog.products_mentioning(word, MENTIONS_PER_WORD, in_references=True)
        together = uow.catalog.bought_together(product.id, MIN_BOUGHT_TOGETHER)
        ids = {pid for w in who.name_words | who.brand for pid, _, _ in mentions.get(w, [])} | set(together)
        ids.discard(product.id)
        candidates = uow.catalog.products(sorted(ids)) if ids else []
        stock = uow.catalog.sellable_variants([product.id, *(c.id for c in candidates)]) if candidates else {}
    bought = next((v for v in stock.get(product.id, []) if sku_key(v.sku) == sku_key(sku)), None)
    item = dataclasses.replace(item, price=bought.price if bought is not None else None)  # what an add-on is cheap against
    found = []
    for c in candidates:
        variant = _on_shelf(stock.get(c.id, []))
        if variant is None:
            continue
        n, candidate = together.get(c.id, 0), Item(c.id, c.title, c.brand, c.category, c.attributes, variant.price)
        why = relation(item, who, candidate, n)
        if why is not None:
            found.append((rank_key(why, n, candidate),
                          Complement(variant.sku, c.id, c.title, c.brand, variant.price, variant.currency,
                                     variant.available, why, n)))
    found.sort(key=lambda f: f[0])
    return GoesWith(sku, product.title, product.brand, tuple(c for _, c in found[:limit]))


def _brands_naming(word: str, rows: list[tuple[int, str, str | None]]) -> int:
    """How many brands use `word` in their products' names (a product without a brand
    counts as the brand its title starts with)."""
    brands = set()
    for _, title, brand in rows:
        if word in name_words(title):
            brands.add(" ".join(tokens(brand)) or next(iter(tokens(title)), ""))
    return len(brands)


def _on_shelf(variants: list[VariantOption]) -> VariantOption | None:
    """The variant with the most units on the shelf, if any has some."""
    ready = [v for v in variants if v.available > 0]
    return max(ready, key=lambda v: (v.available, v.sku)) if ready else None
