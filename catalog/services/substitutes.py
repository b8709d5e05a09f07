"""Substitutes for an out-of-stock item, and what shoppers made of them.

Candidates come from a FAISS index of product embeddings kept beside the database
(``<db>.subs.faiss``): a separate index from the resolver's, because the resolver
embeds what a product is *called* (to match short chat queries), while substitutes
compare products with each other, where the description and attributes (material,
features, capacity) carry most of the meaning. Each index hashes its own text, so an
edited description re-embeds the product here and leaves the resolver's index alone.

The index is incremental (content hashes): `build_index` embeds only new or changed
products and drops deleted ones. `find_substitutes` reads it, takes the nearest
products, and hands them with their stock to the pure rules in
`catalog.domain.substitutes`, which filter and order them and write the reason.
"""
from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
from sqlalchemy import case, func, select

from catalog.config import index_path
from catalog.db.orm import SubstituteFeedback, Variant
from catalog.db.repository import ProductInfo
from catalog.domain.substitutes import (
    Candidate,
    Original,
    Ranked,
    VariantOption,
    kind_of,
    price_phrase,
    rank,
    same_item,
)
from catalog.domain.variants import matches
from catalog.search.semantic_index import SemanticIndex
from catalog.uow import UnitOfWork

FIRST_NEIGHBOURS = 64  # nearest products looked at first; widened x4 while too few qualify
MAX_NEIGHBOURS = 4096


@dataclass(frozen=True)
class Substitute:
    sku: str
    product_id: int
    title: str
    score: float
    reason: str
    available: int
    preorder: bool
    brand: str | None = None
    price: Decimal | None = None
    currency: str = "USD"
    color: str | None = None
    size: str | None = None
    eta: dt.date | None = None
    same_item: bool = False

    def as_dict(self) -> dict:
        return {
            "sku": self.sku, "product_id": self.product_id, "title": self.title, "brand": self.brand,
            "score": round(self.score, 4), "reason": self.reason, "available": self.available,
            "preorder": self.preorder, "price": str(self.price) if self.price is not None else None,
            "currency": self.currency, "color": self.color, "size": self.size,
            "eta": self.eta.isoformat() if self.eta else None, "same_item": self.same_item,
        }


@dataclass(frozen=True)
class IndexReport:
    embedded: int
    removed: int
    total: int


class UnknownSku(LookupError):
    pass


# --------------------------------------------------------------------------- the index

def substitute_text(p: ProductInfo) -> str:
    """What a product is, for comparing products: name, brand, kind, description and
    the attributes that describe the model (not the colour or size of one variant)."""
    kind = p.category.split(">")[-1].strip()
    attrs = "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in sorted(p.attributes.items())
                      if k not in ("type", "color", "colour", "size") and v not in (None, ""))
    head = " ".join(x for x in (p.brand or "", p.title) if x)
    typ = str(p.attributes.get("type") or "")
    return ". ".join(x for x in (head, f"{kind}: {typ}" if typ else kind, p.description.strip(), attrs) if x)


def substitutes_index_path(url: str) -> Path:
    base = index_path(url)
    return base.with_name(base.stem + ".subs.faiss")


_cache: dict[Path, tuple[float, SemanticIndex]] = {}
_cache_lock = threading.Lock()


def load_index(url: str) -> SemanticIndex:
    """The saved index for a database, cached per process until its file changes."""
    path = substitutes_index_path(url)
    mtime = path.stat().st_mtime if path.exists() else -1.0
    with _cache_lock:
        cached = _cache.get(path)
        if cached is None or cached[0] != mtime:
            cached = (mtime, SemanticIndex(path))
            _cache[path] = cached
        return cached[1]


def build_index(uow: UnitOfWork, embedder=None, progress: Callable[[int], None] | None = None,
                on_total: Callable[[int], None] | None = None) -> IndexReport:
    """Embed new and changed products, drop deleted ones; saves beside the database."""
    embedder = embedder if embedder is not None else _LazyEmbedder()
    with uow:
        products = uow.catalog.products()
    texts = {p.id: substitute_text(p) for p in products}
    index = load_index(uow.url)
    removed = len(set(index.hashes) - set(texts))
    if on_total is not None:
        from catalog.search.semantic_index import content_hash

        on_total(sum(1 for pid, t in texts.items() if index.hashes.get(pid) != content_hash(t)))
    embedded = index.sync(texts, embedder, progress)
    return IndexReport(embedded, removed, len(index))


class _LazyEmbedder:
    """Loads the model only when something needs embedding (an up-to-date index needs none)."""

    def encode(self, texts, **kwargs):
        from catalog.search.embedder import shared_embedder

        return shared_embedder().encode(texts, **kwargs)


# --------------------------------------------------------------------------- finding

def find_substitutes(uow: UnitOfWork, sku: str, k: int = 5, color: str | None = None, size: str | None = None,
                     index: SemanticIndex | None = None, embedder=None) -> list[Substitute]:
    """Ranked substitutes a shopper can buy now (or pre-order, marked so) for `sku`.

    `sku` names the variant the shopper wanted; its size counts as asked (fit is not
    negotiable) unless `size` is given, its colour as preferred. `color`/`size` given
    explicitly must be matched by every suggestion. The same item from another supplier
    that can ship now comes first.
    """
    k = max(1, k)
    if index is None:
        index = load_index(uow.url)
    with uow:
        pid = uow.catalog.product_id_for_sku(sku)
        if pid is None:
            raise UnknownSku(sku)
        product = uow.catalog.products([pid])[0]
        own = uow.catalog.sellable_variants([pid])[pid]
        exact = next((v for v in own if v.sku.upper() == sku.strip().upper()), None)
        original, asked = _original(product, own, exact, color, size)
        results = _other_supplier(uow, product, original, asked)
        if not len(index) and embedder is None:
            build_index(uow)  # first use: nothing indexed yet
            index = load_index(uow.url)
        vector = _vector(index, product, embedder)
        results += _ranked(uow, index, vector, product, original, k)
    return results[:k]


def _original(product: ProductInfo, own: list[VariantOption], exact: VariantOption | None,
              color: str | None, size: str | None) -> tuple[Original, list[VariantOption]]:
    size = size or (exact.size if exact is not None and len(product.sizes) > 1 else None)
    if exact is not None and not color and (not size or size == exact.size):
        asked = [exact]  # the variant named by the sku
    elif color or size:
        asked = [v for v in own if matches(color, size, v.color, v.size)]
    else:
        asked = list(own)
    basis = asked or ([exact] if exact is not None else own)
    prices = sorted(v.price for v in basis)
    price = prices[len(prices) // 2] if prices else None
    colors = (color,) if color else tuple(dict.fromkeys(v.color for v in basis if v.color))
    original = Original(product.title, product.brand,
                        kind_of(product.title, product.brand, product.category, product.attributes),
                        price, colors, product.sizes, asked_color=color, asked_size=size)
    return original, asked


def _other_supplier(uow: UnitOfWork, product: ProductInfo, original: Original,
                    asked: list[VariantOption]) -> list[Substitute]:
    """The same variant, shipped by another supplier that has it now."""
    out_of_stock = [v for v in asked if v.available <= 0]
    if not out_of_stock:
        return []
    offers = uow.catalog.supplier_offers([v.sku for v in out_of_stock])
    best: tuple | None = None
    for v in out_of_stock:
        for o in offers.get(v.sku, []):
            if o.is_primary or not o.supplier_qty or o.supplier_qty <= 0:
                continue
            key = (o.lead_time_days if o.lead_time_days is not None else 10**6, o.price or v.price)
            if best is None or key < best[0]:
                best = (key, v, o)
    if best is None:
        return []
    _, v, o = best
    price = o.price if o.price is not None else v.price
    parts = [f"same item from {o.supplier}"]
    if o.lead_time_days is not None:
        parts.append(f"ships in {o.lead_time_days} days")
    phrase = price_phrase(original.price, price)
    if phrase and phrase != "same price":
        parts.append(phrase)
    parts.append(f"{o.supplier_qty} available")
    return [Substitute(v.sku, product.id, product.title, 3.0, ", ".join(parts), int(o.supplier_qty), False,
                       product.brand, price, o.currency or v.currency, v.color, v.size, None, True)]


def _vector(index: SemanticIndex, product: ProductInfo, embedder) -> np.ndarray:
    if product.id in index.hashes:
        return index.index.reconstruct(int(product.id))
    if embedder is None:
        from catalog.search.embedder import shared_embedder

        embedder = shared_embedder()
    return embedder.encode([substitute_text(product)])[0]  # added since the last `index` run


def _ranked(uow: UnitOfWork, index: SemanticIndex, vector: np.ndarray, product: ProductInfo,
            original: Original, k: int) -> list[Substitute]:
    n = FIRST_NEIGHBOURS
    seen: dict[int, float] = {}
    kinds: dict[int, ProductInfo] = {}
    stock: dict[int, list[VariantOption]] = {}
    while True:
        hits = [(pid, s) for pid, s in index.search(vector, n + 1) if pid != product.id and pid not in seen]
        seen.update(hits)
        if hits:
            fresh = uow.catalog.products([pid for pid, _ in hits])
            match = [p for p in fresh if original.kind.same_as(kind_of(p.title, p.brand, p.category, p.attributes))
                     or same_item(product.title, product.brand, p.title, p.brand)]
            kinds.update({p.id: p for p in match})
            stock.update(uow.catalog.sellable_variants([p.id for p in match]))
        candidates = [Candidate(p.id, p.title, p.brand, kind_of(p.title, p.brand, p.category, p.attributes),
                                seen[p.id], tuple(stock.get(p.id, ()))) for p in kinds.values()]
        ranked = rank(original, candidates, k)
        if len(ranked) >= k or n >= len(index) or n >= MAX_NEIGHBOURS:
            return [_substitute(r, kinds[r.product_id]) for r in ranked]
        n *= 4


def _substitute(r: Ranked, p: ProductInfo) -> Substitute:
    v = r.variant
    return Substitute(v.sku, r.product_id, r.title, r.score, r.reason, v.available, v.available <= 0,
                      p.brand, v.price, v.currency, v.color, v.size, v.eta if v.available <= 0 else None,
                      r.same_item)


# --------------------------------------------------------------------------- feedback

@dataclass(frozen=True)
class FeedbackStats:
    sku: str
    substitute_sku: str
    accepted: int
    rejected: int

    @property
    def acceptance_rate(self) -> float:
        total = self.accepted + self.rejected
        return self.accepted / total if total else 0.0


def record_feedback(uow: UnitOfWork, sku: str, substitute_sku: str, accepted: bool,
                    conversation_id: str | None) -> int:
    """Record that a shopper took (or turned down) a suggested substitute; returns the row id."""
    with uow:
        canonical = {}
        for value in (sku, substitute_sku):
            found = uow.session.execute(
                select(Variant.sku).where(Variant.sku_key == value.strip().upper())
            ).scalar_one_or_none()
            if found is None:
                raise UnknownSku(value)
            canonical[value] = found
        row = SubstituteFeedback(sku=canonical[sku], substitute_sku=canonical[substitute_sku],
                                 accepted=bool(accepted), conversation_id=conversation_id)
        uow.session.add(row)
        uow.session.flush()
        row_id = row.id
        uow.commit()
    return row_id


def feedback_summary(uow: UnitOfWork, sku: str | None = None) -> list[FeedbackStats]:
    """Accepted and rejected counts per (wanted sku, substitute sku), most accepted first."""
    accepted = func.sum(case((SubstituteFeedback.accepted.is_(True), 1), else_=0))
    query = (select(SubstituteFeedback.sku, SubstituteFeedback.substitute_sku, accepted, func.count())
             .group_by(SubstituteFeedback.sku, SubstituteFeedback.substitute_sku))
    if sku:
        query = query.where(func.upper(SubstituteFeedback.sku) == sku.strip().upper())
    with uow:
        rows = uow.session.execute(query).all()
    stats = [FeedbackStats(a, b, int(acc or 0), int(total) - int(acc or 0)) for a, b, acc, total in rows]
    return sorted(stats, key=lambda s: (-s.accepted, s.rejected, s.sku, s.substitute_sku))
