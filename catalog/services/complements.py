""""Goes with" suggestions for an item a shopper bought: accessories and companions on the
shelf now, shown apart from substitutes and never instead of the item.

The rules are catalog.domain.complements; this gathers what they need: from the catalog's
names (read once per catalog version, `Names`), which of the item's words other brands use
in their own names too (a descriptor such as "dimmable" identifies nothing) and the
products whose names or references (titles after "for", attributes like
`compatible_with`) have its brand or name words; from past orders, what was bought with
it; and the stock of every candidate. Only variants with units on the shelf are
suggested: a shopper is not sent off to wait for an add-on.
"""
from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from catalog.domain.complements import (
    MIN_BOUGHT_TOGETHER,
    REFERENCE_KEY_FRAGMENTS,
    Item,
    Relation,
    brand_key,
    candidate_name_words,
    identity,
    name_words,
    rank_key,
    references,
    relation,
)
from catalog.domain.products import sku_key
from catalog.domain.substitutes import VariantOption
from catalog.policy import steering_settings
from catalog.uow import UnitOfWork

IDENTIFYING_AT_MOST = 2000  # a word in more product names than this identifies no model


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
        names = vocabulary(uow)
        who = identity(item, shared={w for w in candidate_name_words(item) if names.brands_naming.get(w, 0) >= 2})
        together = uow.catalog.bought_together(product.id, MIN_BOUGHT_TOGETHER)
        ids = set(together)
        for word in who.name_words:
            ids.update(names.named.get(word, ()), names.referred.get(word, ()))
        for word in who.brand:
            ids.update(names.referred.get(word, ()))
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


def _on_shelf(variants: list[VariantOption]) -> VariantOption | None:
    """The variant with the most units on the shelf, if any has some."""
    ready = [v for v in variants if v.available > 0]
    return max(ready, key=lambda v: (v.available, v.sku)) if ready else None


# --------------------------------------------------------------------------- names and references

@dataclass(frozen=True)
class Names:
    """The catalog's product names and references, read once per catalog version.

    Scanning titles for a word costs a full table read per word (most of a second per
    suggestion at 100,000 products); this is read once (about 2.5 s at 100,000 products,
    at the action server's start), then a suggestion costs a few dictionary lookups and
    the reads of its candidates."""

    brands_naming: dict[str, int]  # word -> brands that use it in product names (counted up to 2)
    named: dict[str, tuple[int, ...]]  # a word one brand uses -> the products whose names have it
    referred: dict[str, tuple[int, ...]]  # word -> products whose references ("for ...", compatible_with) have it

    @classmethod
    def read(cls, names: Iterable[tuple[int, str, str | None]],
             reference_attributes: Iterable[tuple[int, dict]]) -> Names:
        brands: dict[str, set[str]] = {}
        named: dict[str, list[int]] = {}
        referred: dict[str, set[int]] = {}
        for pid, title, brand in names:
            key = brand_key(title, brand)
            for word in name_words(title):
                seen = brands.setdefault(word, set())
                if len(seen) < 2:
                    seen.add(key)
                named.setdefault(word, []).append(pid)
            for ref in references(title, None):
                for word in ref:
                    referred.setdefault(word, set()).add(pid)
        for pid, attributes in reference_attributes:
            for ref in references("", attributes):
                for word in ref:
                    referred.setdefault(word, set()).add(pid)
        counts = {w: len(b) for w, b in brands.items()}
        return cls(counts, {w: tuple(ids) for w, ids in named.items()
                            if counts[w] < 2 and len(ids) <= IDENTIFYING_AT_MOST},
                   {w: tuple(sorted(ids)) for w, ids in referred.items()})


_names: dict[str, tuple[tuple, Names]] = {}
_names_lock = threading.Lock()


def vocabulary(uow: UnitOfWork) -> Names:
    """The catalog's names, cached per database and read again when products are added or
    edited (the catalog version the resolver watches too; call inside `with uow:`)."""
    version = uow.catalog.version()
    with _names_lock:
        cached = _names.get(uow.url)
        if cached is not None and cached[0] == version:
            return cached[1]
    names = Names.read(uow.catalog.product_names(), uow.catalog.attributes_mentioning(REFERENCE_KEY_FRAGMENTS))
    with _names_lock:
        _names[uow.url] = (version, names)
    return names


def read_names(uow: UnitOfWork) -> int:
    """Read the catalog's names now (the action server's start), so the first reservation
    does not wait for them; returns how many words they hold."""
    with uow:
        return len(vocabulary(uow).brands_naming)
