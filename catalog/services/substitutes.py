"""Substitutes for an out-of-stock item, and what shoppers made of them.

Candidates come from a FAISS index of product embeddings kept beside the database
(``<db>.subs.faiss``): a separate index from the resolver's, because the resolver
embeds what a product is *called* (to match short chat queries), while substitutes
compare products with each other, where the description and attributes (material,
features, capacity) carry most of the meaning. Each index hashes its own text, so an
edited description re-embeds the product here and leaves the resolver's index alone.

The index is incremental: `build_index` reads only products edited since its last run
(update times, with some slack), embeds those whose text hash changed and drops deleted
ones. Beside each vector it keeps the product's kind, so `find_substitutes` searches
only products of the same kind (a FAISS id selector) instead of the whole catalog,
and hands the nearest, with their stock, to the pure rules in
`catalog.domain.substitutes`, which filter and order them and write the reason.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import faiss
import numpy as np
from sqlalchemy import case, func, select

from catalog.config import index_path
from catalog.db.orm import SubstituteFeedback
from catalog.clock import utcnow
from catalog.domain.products import ProductInfo, category_leaf, descriptive_attributes, product_type, sku_key
from catalog.domain.stock import best_other_supplier, shipping_preference
from catalog.domain.kinds import KindFacts, KindNames, KindReading, confusable, group_kinds, pair_score, read_kind
from catalog.domain.substitutes import (
    Candidate,
    Original,
    ProductKind,
    Ranked,
    Reason,
    VariantOption,
    item_key,
    kind_of,
    price_change,
    rank,
)
from catalog.domain.variants import matches
from catalog.policy import SteeringSettings
from catalog.search.semantic_index import SemanticIndex, content_hash
from catalog.services.margins import higher_margin_first
from catalog.uow import UnitOfWork

log = logging.getLogger(__name__)

# A catalog this small is indexed on the first question; a bigger one waits for `catalog
# index` (make serve runs it every minute) rather than keep a shopper waiting for minutes.
INLINE_BUILD_LIMIT = 2000
FIRST_NEIGHBOURS = 32  # nearest same-kind products looked at first; widened x4 while too few sell


@dataclass(frozen=True)
class Substitute:
    sku: str
    product_id: int
    title: str
    score: float
    reason: Reason
    available: int
    preorder: bool
    brand: str | None = None
    price: Decimal | None = None
    currency: str = "USD"
    color: str | None = None
    size: str | None = None
    eta: dt.date | None = None
    same_item: bool = False


@dataclass(frozen=True)
class IndexReport:
    embedded: int
    removed: int
    total: int


class UnknownSku(LookupError):
    pass


# --------------------------------------------------------------------------- the index

# Changes whenever substitute_text or kind_payload read products differently: an index
# written by another version is read whole again (only texts that really changed are
# embedded again, by their hashes).
TEXT_VERSION = "3"


def substitute_text(p: ProductInfo) -> str:
    """What a product is, for comparing products: name, kind, description and the
    attributes that describe the model (not the colour or size of one variant).

    Without the brand: a brand's smartwatch and its fitness tracker are not alike for
    being one brand's (the ranking adds a small same-brand bonus of its own)."""
    kind, typ = category_leaf(p.category), product_type(p.attributes)
    attrs = "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in sorted(descriptive_attributes(p.attributes).items()))
    title, description = p.title, p.description.strip()
    if p.brand and p.brand.strip():
        brand = re.compile(rf"(?<!\w){re.escape(p.brand.strip())}(?:['’]s?)?(?!\w)", re.IGNORECASE)
        title, description = brand.sub(" ", title).strip(" -–—|,") or title, brand.sub(" ", description)
        title, description = " ".join(title.split()), " ".join(description.split())
    return ". ".join(x for x in (title, f"{kind}: {typ}" if typ else kind, description, attrs) if x)


def substitutes_index_path(url: str) -> Path:
    base = index_path(url)
    return base.with_name(base.stem + ".subs.faiss")


def kind_payload(p: ProductInfo) -> list:
    """What the index keeps beside each vector, read from the product alone: what it says
    about its kind (catalog.domain.kinds.KindFacts) and its listing key. `group_index` appends the product's kind group, found among the
    products of its category; a query then needs no model or text parsing."""
    facts = read_kind(p.title, p.brand, p.category, p.description, p.attributes)
    return [*facts.payload(), item_key(p.title, p.brand)]


_FACTS = len(KindFacts("", "", (), (), False, False, False, "", (), ()).payload())


def _facts(payload: list) -> KindFacts:
    return KindFacts.from_payload(payload[:_FACTS])


def _own_part(payload: list) -> list:
    """The payload without its group: what `kind_payload` wrote."""
    return list(payload[:_FACTS + 1])


def _group(payload: list) -> str | None:
    return payload[_FACTS + 1] if len(payload) > _FACTS + 1 else None


class SubstituteIndex:
    """The saved vectors plus, per kind of product, the ids a query may search among.

    Each product's payload carries its kind group (`group_index`), so the products "of
    the same kind" (ProductKind.same_as) are one dictionary lookup, not a pass over the
    catalog. The kind names (catalog.domain.kinds.KindNames) are read once per load, to
    tell parts from the products they fit in the ranking."""

    def __init__(self, vectors: SemanticIndex) -> None:
        self.vectors = vectors
        facts = {pid: _facts(value) for pid, value in vectors.payload.items() if len(value) >= _FACTS + 1}
        self.facts = facts
        self.names = KindNames(facts.values())
        by_group: dict[str, list[int]] = {}
        by_key: dict[tuple[str, str], list[int]] = {}
        by_category: dict[str, list[int]] = {}
        for pid, value in vectors.payload.items():
            if pid not in facts:
                continue
            category = facts[pid].category
            by_category.setdefault(category, []).append(pid)
            by_key.setdefault((category, value[_FACTS]), []).append(pid)
            group = _group(value)
            if group is not None:
                by_group.setdefault(group, []).append(pid)
        self._by_group, self._by_key, self._by_category = by_group, by_key, by_category

    def __len__(self) -> int:
        return len(self.vectors)

    def product_kind(self, pid: int) -> ProductKind:
        value = self.vectors.payload[pid]
        return self._kind(_facts(value), _group(value))

    def _kind(self, facts: KindFacts, group: str | None) -> ProductKind:
        reading = self.names.read(facts)
        return ProductKind(facts.category.rsplit(" > ", 1)[-1], reading.shared_type, self.names.head(facts), group,
                           reading)

    def kind_of_new(self, product: ProductInfo, vector: np.ndarray) -> ProductKind:
        """The kind of a product indexed since the last run: the group of its nearest
        neighbour in its category, when that one is close and not its part or kids' version."""
        payload = kind_payload(product)
        facts = _facts(payload)
        group = None
        among = np.asarray(self._by_category.get(facts.category, []), dtype="int64")
        for pid, similarity in self.vectors.search(vector, 1, among=among):
            if similarity >= NEW_PRODUCT_SIMILARITY and not confusable(self.names.read(facts),
                                                                        self.names.read(self.facts[pid])):
                group = _group(self.vectors.payload[pid])
        return self._kind(facts, group)

    def pool(self, kind: ProductKind, key: str, also: Iterable[int] = ()) -> np.ndarray:
        """Ids of indexed products of the same kind group, the same item listed again, and
        `also` (what shoppers chose for this product)."""
        if kind.reading is None:
            return np.zeros(0, dtype="int64")
        parts: list[Iterable[int]] = [self._by_key.get((kind.reading.facts.category, key), []), also]
        if kind.group is not None:
            parts.append(self._by_group.get(kind.group, []))
        return np.unique(np.fromiter((pid for part in parts for pid in part if pid in self.facts), dtype="int64"))

    def nearest(self, vector: np.ndarray, among: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k products of `among` most similar to `vector`, best first: a FAISS scan that
        compares only the vectors of those ids (~1 ms at 100,000 products; decoding the
        same vectors one by one costs several times more)."""
        return self.vectors.search(vector, k, among=among)


# A product indexed since the last run takes its nearest neighbour's kind above this similarity.
NEW_PRODUCT_SIMILARITY = 0.6
# Categories up to this size compare every pair of products; larger ones each product's
# NEIGHBOURS nearest (a FAISS scan of the category), averaging over the pairs compared.
ALL_PAIRS_UP_TO = 1500
NEIGHBOURS = 24


def group_index(vectors: SemanticIndex, categories: set[str] | None = None) -> dict[int, list]:
    """Each product's kind group, for the products of `categories` (all when None):
    {id: payload with the group}, only where the group changed.

    A category whose products all carry a merchant type that several brands share is
    grouped by type, with no vectors read. Otherwise its products are clustered
    (catalog.domain.kinds.group_kinds) on pair scores from their embedding similarity,
    attributes, kind names, audiences and parts."""
    facts = {pid: _facts(v) for pid, v in vectors.payload.items() if len(v) >= _FACTS + 1}
    names = KindNames(facts.values())
    by_category: dict[str, list[int]] = {}
    for pid, f in facts.items():
        if categories is None or f.category in categories:
            by_category.setdefault(f.category, []).append(pid)
    changed: dict[int, list] = {}
    for category, ids in by_category.items():
        ids.sort()
        readings = {pid: names.read(facts[pid]) for pid in ids}
        if all(r.shared_type for r in readings.values()):
            groups = {pid: f"t:{category}:{readings[pid].shared_type}" for pid in ids}
        else:
            scores = _pair_scores(vectors, ids, readings)
            dense = len(ids) <= ALL_PAIRS_UP_TO
            clusters = group_kinds(ids, scores, missing=0.0 if dense else None)
            groups = {pid: f"g:{category}:{g}" for pid, g in clusters.items()}
        for pid in ids:
            value = vectors.payload[pid]
            if _group(value) != groups[pid]:
                changed[pid] = [*_own_part(value), groups[pid]]
    return changed


def _pair_scores(vectors: SemanticIndex, ids: list[int],
                 readings: dict[int, KindReading]) -> dict[tuple[int, int], float]:
    """Pair scores (catalog.domain.kinds.pair_score) of every pair of a small category, or
    of each product and its nearest neighbours in a large one, plus every pair where one
    is a part made for the other (which must never join)."""
    matrix = vectors.index.reconstruct_batch(np.asarray(ids, dtype="int64")).astype("float32")
    if len(ids) <= ALL_PAIRS_UP_TO:
        sims = matrix @ matrix.T
        pairs = ((a, b) for a in range(len(ids)) for b in range(a + 1, len(ids)))
        similarity = lambda a, b: float(sims[a, b])  # noqa: E731
    else:
        flat = faiss.IndexFlatIP(matrix.shape[1])
        flat.add(matrix)
        found, near = flat.search(matrix, NEIGHBOURS + 1)
        known = {(min(a, int(b)), max(a, int(b))): float(s) for a in range(len(ids))
                 for s, b in zip(found[a], near[a]) if b >= 0 and b != a}
        parts = [a for a in range(len(ids)) if readings[ids[a]].made_for]
        for a in parts:
            for b in range(len(ids)):
                if a != b and confusable(readings[ids[a]], readings[ids[b]]):
                    known.setdefault((min(a, b), max(a, b)), 0.0)
        pairs = iter(known)
        similarity = lambda a, b: known[(a, b)] if (a, b) in known else float(matrix[a] @ matrix[b])  # noqa: E731
    out: dict[tuple[int, int], float] = {}
    for a, b in pairs:
        i, j = ids[a], ids[b]
        out[(i, j)] = pair_score(similarity(a, b), readings[i], readings[j])
    return out


_cache: dict[Path, tuple[float, SubstituteIndex]] = {}
_cache_lock = threading.Lock()


def load_index(url: str) -> SubstituteIndex:
    """The saved index for a database, cached per process and reloaded when it changes
    (the meta file is written last, so its time says a whole new index is in place)."""
    path = substitutes_index_path(url)
    meta = path.with_suffix(path.suffix + ".json")
    mtime = meta.stat().st_mtime if meta.exists() else -1.0
    with _cache_lock:
        cached = _cache.get(path)
        if cached is None or cached[0] != mtime:
            loaded = SemanticIndex(path)
            if cached is not None and mtime > 0 and not len(loaded):
                return cached[1]  # caught between the two file writes: keep the old one
            cached = (mtime, SubstituteIndex(loaded))
            _cache[path] = cached
        return cached[1]


def _install(url: str, vectors: SemanticIndex) -> None:
    path = substitutes_index_path(url)
    meta = path.with_suffix(path.suffix + ".json")
    with _cache_lock:
        _cache[path] = (meta.stat().st_mtime if meta.exists() else -1.0, SubstituteIndex(vectors))


# A transaction that was open while the index read the catalog may commit edits stamped
# earlier than the watermark; products changed this long before it are looked at again.
# (A 100,000-row import commits within a minute.)
WATERMARK_SLACK = dt.timedelta(minutes=2)
# Above this many changed products, reading the whole catalog is cheaper than an IN list.
READ_ALL_ABOVE = 5000


def build_index(uow: UnitOfWork, embedder=None, progress: Callable[[int], None] | None = None,
                on_total: Callable[[int], None] | None = None, full: bool = False) -> IndexReport:
    """Embed new and changed products, drop deleted ones; saves beside the database.

    Only products edited since the last run (by their and their variants' update
    times) are read and hashed, so an update costs what changed, not the catalog size;
    `full` re-reads and re-hashes everything."""
    embedder = embedder if embedder is not None else _LazyEmbedder()
    path = substitutes_index_path(uow.url)
    with _cache_lock:
        cached = _cache.get(path)
    # In a process that answers questions, searches go on against the old index meanwhile;
    # elsewhere (the `index` command) the saved one is read and updated in place.
    vectors = cached[1].vectors.copy() if cached is not None else SemanticIndex(path)
    started = utcnow()
    with uow:
        ids = uow.catalog.product_ids()
        everything = full or vectors.watermark is None or vectors.text_version != TEXT_VERSION
        if everything:
            todo = ids
        else:
            todo = uow.catalog.changed_product_ids(vectors.watermark - WATERMARK_SLACK) | (ids - set(vectors.payload))
        todo &= ids
        products = [p for p in uow.catalog.products() if p.id in todo] if len(todo) > READ_ALL_ABOVE \
            else uow.catalog.products(sorted(todo))
    texts = {p.id: substitute_text(p) for p in products}
    removed = set(vectors.hashes) - ids
    if on_total is not None:
        on_total(sum(1 for pid, t in texts.items() if vectors.hashes.get(pid) != content_hash(t)))
    before = {pid: (vectors.hashes.get(pid), vectors.payload.get(pid)) for pid in texts}
    gone = {_facts(vectors.payload[pid]).category for pid in removed
            if len(vectors.payload.get(pid) or ()) >= _FACTS + 1}
    payload = {}
    for p in products:
        own, old = kind_payload(p), vectors.payload.get(p.id)
        payload[p.id] = [*own, _group(old)] if old is not None and _own_part(old) == own else own
    embedded = vectors.update(texts, embedder, progress, remove=removed, payload=payload, watermark=started,
                              text_version=TEXT_VERSION)
    # Kinds are groups of a category's products: a category is grouped again when one of
    # its products is new, changed what it says or was embedded again, or left.
    dirty = gone | {_facts(vectors.payload[pid]).category for pid, (h, old) in before.items()
                    if pid in vectors.payload and (h != vectors.hashes.get(pid) or old != vectors.payload[pid])}
    dirty |= {_facts(v).category for v in vectors.payload.values() if _group(v) is None}
    if dirty or everything:
        vectors.update({}, embedder, payload=group_index(vectors, None if everything else dirty))
    _install(uow.url, vectors)
    return IndexReport(embedded, len(removed), len(vectors))


class _LazyEmbedder:
    """Loads the model only when something needs embedding (an up-to-date index needs none)."""

    def encode(self, texts, **kwargs):
        from catalog.search.embedder import shared_embedder

        return shared_embedder().encode(texts, **kwargs)


# --------------------------------------------------------------------------- finding

def find_substitutes(uow: UnitOfWork, sku: str, k: int = 5, color: str | None = None, size: str | None = None,
                     index: SubstituteIndex | None = None, embedder=None,
                     steering: SteeringSettings | None = None) -> list[Substitute]:
    """Ranked substitutes a shopper can buy now (or pre-order, marked so) for `sku`.

    `sku` names the variant the shopper wanted; its size counts as asked (fit is not
    negotiable) unless `size` is given, its colour as preferred. `color`/`size` given
    explicitly must be matched by every suggestion. The same item from another supplier
    that can ship now comes first. Last, the merchant's margin preference (policy, or
    `steering`) may reorder near-equals (catalog.services.margins).
    """
    k = max(1, k)
    if index is None:
        index = load_index(uow.url)
    with uow:
        pid = uow.catalog.product_id_for_sku(sku)
        if pid is None:
            raise UnknownSku(sku)
        product = uow.catalog.products([pid])[0]
        if not len(index) and embedder is None:
            if len(uow.catalog.product_ids()) > INLINE_BUILD_LIMIT:
                log.warning("no substitutes index yet for %s: run `python -m catalog index`", uow.url)
                index = None
            else:
                build_index(UnitOfWork(uow.url))  # first use of a small catalog: seconds, not worth a separate step
                index = load_index(uow.url)
        kind = kind_of(product.title, product.brand, product.category, product.attributes, product.description)
        choices = _choices(uow.catalog.substitute_choices(pid))
        neighbours = None
        if index is not None:
            vector = _vector(index.vectors, product, embedder)
            kind = index.product_kind(pid) if pid in index.facts else index.kind_of_new(product, vector)
            neighbours = _Neighbours(index, vector, kind, product, [c for c, (_, chosen) in choices.items() if chosen])
        hits = neighbours.widen() if neighbours is not None else []
        # The original's stock and the first candidates' in one read: a query costs a
        # handful of round trips whatever the catalog size.
        stock = uow.catalog.sellable_variants([pid, *(h for h, _ in hits)])
        own = stock.pop(pid, [])
        exact = next((v for v in own if sku_key(v.sku) == sku_key(sku)), None)
        original, asked = _original(product, kind, own, exact, color, size)
        results = _other_supplier(uow, product, original, asked)
        if neighbours is not None:
            results += _ranked(uow, neighbours, hits, stock, original, k, choices)
        return higher_margin_first(uow, results[:k], steering)


# Shoppers took a product for this one at least this many times more than they turned it
# down: it counts as the same kind even where the catalog's kinds disagree.
CHOSEN_AT_LEAST = 2


def _choices(counts: dict[int, tuple[int, int]]) -> dict[int, tuple[float, bool]]:
    """{substitute's product id: (feedback from -1 to 1, chosen)} from times taken and
    turned down; one answer moves a product less than many (the +1 in the divisor)."""
    return {pid: ((taken - refused) / (taken + refused + 1), taken - refused >= CHOSEN_AT_LEAST)
            for pid, (taken, refused) in counts.items()}


def _original(product: ProductInfo, kind: ProductKind, own: list[VariantOption], exact: VariantOption | None,
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
    original = Original(product.title, product.brand, kind, price, colors, product.sizes,
                        asked_color=color, asked_size=size)
    return original, asked


def _other_supplier(uow: UnitOfWork, product: ProductInfo, original: Original,
                    asked: list[VariantOption]) -> list[Substitute]:
    """The same variant, shipped by another supplier that has it now."""
    out_of_stock = [v for v in asked if v.available <= 0]
    if not out_of_stock:
        return []
    offers = uow.catalog.offers_by_sku([v.sku for v in out_of_stock])
    found = [(o, v) for v in out_of_stock
             if (o := best_other_supplier(offers.get(v.sku, []), stock_known=True)) is not None]
    if not found:
        return []
    o, v = min(found, key=lambda pair: shipping_preference(pair[0], pair[1].price))
    price = o.price if o.price is not None else v.price
    reason = Reason(available=o.supplier_qty or 0, same_item=True, supplier=o.supplier,
                    ships_in_days=o.lead_time_days, supplier_qty=o.supplier_qty,
                    price_change=price_change(original.price, price))
    return [Substitute(v.sku, product.id, product.title, 3.0, reason, o.supplier_qty or 0, False,
                       product.brand, price, o.currency or v.currency, v.color, v.size, None, True)]


def _vector(vectors: SemanticIndex, product: ProductInfo, embedder) -> np.ndarray:
    if product.id in vectors.hashes:
        return vectors.vector(product.id)
    if embedder is None:
        from catalog.search.embedder import shared_embedder

        embedder = shared_embedder()
    return embedder.encode([substitute_text(product)])[0]  # added since the last `index` run


class _Neighbours:
    """The nearest products of the same kind, fetched a few at a time: the first few
    usually hold enough that can be sold, and each widening looks at four times more."""

    def __init__(self, index: SubstituteIndex, vector: np.ndarray, kind: ProductKind, product: ProductInfo,
                 chosen: Iterable[int] = ()) -> None:
        pool = index.pool(kind, item_key(product.title, product.brand), chosen)
        self.index, self.vector, self.pool = index, vector, pool[pool != product.id]
        self.n = 0
        self.seen: set[int] = set()

    @property
    def exhausted(self) -> bool:
        return self.n >= len(self.pool)

    def widen(self) -> list[tuple[int, float]]:
        """The next nearest (id, similarity), not returned before."""
        self.n = FIRST_NEIGHBOURS if not self.n else self.n * 4
        hits = [(pid, s) for pid, s in self.index.nearest(self.vector, self.pool, self.n) if pid not in self.seen]
        self.seen.update(pid for pid, _ in hits)
        return hits


def _ranked(uow: UnitOfWork, neighbours: _Neighbours, hits: list[tuple[int, float]],
            stock: dict[int, list[VariantOption]], original: Original, k: int,
            choices: dict[int, tuple[float, bool]]) -> list[Substitute]:
    """Nearest products of the same kind first; more of them while too few can be sold."""
    similarity = dict(hits)
    labels = uow.catalog.product_labels(list(similarity))
    while True:
        candidates = [Candidate(pid, labels[pid][0], labels[pid][1], neighbours.index.product_kind(pid),
                                similarity[pid], tuple(stock.get(pid, ())), *choices.get(pid, (0.0, False)))
                      for pid in similarity if pid in labels]
        ranked = rank(original, candidates, k)
        if len(ranked) >= k or neighbours.exhausted:
            return [_substitute(r, labels[r.product_id][1]) for r in ranked]
        fresh = neighbours.widen()
        similarity.update(fresh)
        ids = [pid for pid, _ in fresh]
        labels.update(uow.catalog.product_labels(ids))
        stock.update(uow.catalog.sellable_variants(ids))


def _substitute(r: Ranked, brand: str | None) -> Substitute:
    v = r.variant
    return Substitute(v.sku, r.product_id, r.title, r.score, r.reason, v.available, v.available <= 0,
                      brand, v.price, v.currency, v.color, v.size, v.eta if v.available <= 0 else None,
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
            found = uow.catalog.canonical_sku(value)
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
        query = query.where(func.upper(SubstituteFeedback.sku) == sku_key(sku))
    with uow:
        rows = uow.session.execute(query).all()
    stats = [FeedbackStats(a, b, int(acc or 0), int(total) - int(acc or 0)) for a, b, acc, total in rows]
    return sorted(stats, key=lambda s: (-s.accepted, s.rejected, s.sku, s.substitute_sku))
