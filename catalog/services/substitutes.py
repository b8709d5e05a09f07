"""Substitutes for an out-of-stock item, and what shoppers made of them.

Candidates come from a FAISS index of product embeddings kept beside the database
(``<db>.subs.faiss``): a separate index from the resolver's, because the resolver
embeds what a product is *called* (to match short chat queries), while substitutes
compare products with each other, where the description and attributes (material,
features, capacity) carry most of the meaning. Each index hashes its own text, so an
edited description re-embeds the product here and leaves the resolver's index alone.

The index is incremental: `build_index` reads only products edited since its last run
(update times, with some slack), embeds those whose text hash changed and drops deleted
ones. Beside each vector it keeps the product's kind: what the product says of itself
(catalog.domain.kinds.read_kind) and its kind group among the products of its category
(`group_index`: the merchant's type where the category's products share types, else a
clustering of embeddings, attribute names, kind names and titles; a changed product
joins its neighbours' group). So `find_substitutes` searches only products of the same
group (a FAISS id selector) instead of the whole catalog, adds what shoppers chose
before (`substitute_feedback`), and hands the nearest, with their stock, to the pure
rules in `catalog.domain.substitutes`, which filter and order them and write the reason.
"""
from __future__ import annotations

import datetime as dt
import gc
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
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
from catalog.domain.kinds import (
    KIND_THRESHOLD,
    MIN_BRANDS,
    TYPED_SHARE,
    KindFacts,
    KindNames,
    KindReading,
    PartIndex,
    confusable,
    group_kinds,
    pair_score,
    read_kind,
)
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
from catalog.search.semantic_index import SemanticIndex, content_hash, empty_index, nearest
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

# Changes whenever substitute_text or kind_payload read products differently, or
# group_index groups them differently: an index written by another version is read whole
# again (only texts that really changed are embedded again, by their hashes).
TEXT_VERSION = "5"


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
    about its kind (catalog.domain.kinds.KindFacts) and its listing key. `group_index`
    then appends what the catalog says: the product's kind group among the products of
    its category and its kind as the catalog reads it (catalog.domain.kinds.KindReading),
    so a query needs no model, no text parsing and no pass over the catalog."""
    facts = read_kind(p.title, p.brand, p.category, p.description, p.attributes)
    return [*facts.payload(), item_key(p.title, p.brand)]


_FACTS = len(KindFacts("", "", (), (), False, False, False, "", (), ()).payload())
_OWN = _FACTS + 1  # the facts and the listing key


def _facts(payload: list) -> KindFacts:
    return KindFacts.from_payload(payload[:_FACTS])


def _own_part(payload: list) -> list:
    """The payload without what the catalog added: what `kind_payload` wrote."""
    return list(payload[:_OWN])


def _group(payload: list | None) -> str | None:
    return payload[_OWN][0] if payload is not None and len(payload) > _OWN else None


def _indexed(payload: list | None) -> bool:
    """A payload this version wrote (an older index's is read again)."""
    return payload is not None and len(payload) >= _OWN


class SubstituteIndex:
    """The saved vectors plus, per kind of product, the ids a query may search among.

    Each product's payload carries its kind group (`group_index`), so the products "of
    the same kind" (ProductKind.same_as) are one dictionary lookup, not a pass over the
    catalog; loading only sorts ids by group, category and listing."""

    def __init__(self, vectors: SemanticIndex) -> None:
        self.vectors = vectors
        by_group: dict[str, list[int]] = {}
        by_key: dict[tuple[str, str], list[int]] = {}
        by_category: dict[str, list[int]] = {}
        for pid, value in vectors.payload.items():
            if not _indexed(value):
                continue
            category = value[0]
            by_category.setdefault(category, []).append(pid)
            by_key.setdefault((category, value[_FACTS]), []).append(pid)
            group = _group(value)
            if group is not None:
                by_group.setdefault(group, []).append(pid)
        self._by_group, self._by_key, self._by_category = by_group, by_key, by_category
        self._kinds: dict[int, ProductKind] = {}

    def __len__(self) -> int:
        return len(self.vectors)

    def __contains__(self, pid: int) -> bool:
        return _indexed(self.vectors.payload.get(pid))

    def product_kind(self, pid: int) -> ProductKind:
        kind = self._kinds.get(pid)
        if kind is None:
            value = self.vectors.payload[pid]
            facts = _facts(value)
            reading = KindReading.from_parts(facts, value[_OWN][1:]) if len(value) > _OWN else KindReading(facts)
            kind = self._kinds[pid] = _product_kind(reading, _group(value))
        return kind

    def kind_of_new(self, product: ProductInfo, vector: np.ndarray) -> ProductKind:
        """The kind of a product indexed since the last run: the group of its nearest
        neighbour in its category, when that one is close and neither a part made for it
        nor a kids' version of it (or the other way round)."""
        reading = KindReading(_facts(kind_payload(product)))
        group = None
        among = np.asarray(self._by_category.get(reading.facts.category, []), dtype="int64")
        for pid, similarity in self.vectors.search(vector, 1, among=among):
            near = self.product_kind(pid)
            if similarity >= NEW_PRODUCT_SIMILARITY and near.reading is not None \
                    and not confusable(reading, near.reading):
                group = near.group
        return _product_kind(reading, group)

    def pool(self, kind: ProductKind, key: str, also: Iterable[int] = ()) -> np.ndarray:
        """Ids of indexed products of the same kind group, the same item listed again, and
        `also` (what shoppers chose for this product)."""
        if kind.reading is None:
            return np.zeros(0, dtype="int64")
        parts: list[Iterable[int]] = [self._by_key.get((kind.reading.facts.category, key), []), also]
        if kind.group is not None:
            parts.append(self._by_group.get(kind.group, []))
        return np.unique(np.fromiter((pid for part in parts for pid in part if pid in self), dtype="int64"))

    def nearest(self, vector: np.ndarray, among: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k products of `among` most similar to `vector`, best first: a FAISS scan that
        compares only the vectors of those ids (~1 ms at 100,000 products; decoding the
        same vectors one by one costs several times more)."""
        return self.vectors.search(vector, k, among=among)


def _product_kind(reading: KindReading, group: str | None) -> ProductKind:
    leaf = reading.facts.category.rsplit(" > ", 1)[-1]
    return ProductKind(leaf, reading.shared_type, reading.head or reading.facts.head, group, reading)


# A product indexed since the last run takes its nearest neighbour's kind above this similarity.
NEW_PRODUCT_SIMILARITY = 0.6
# Categories up to this size compare every pair of products; larger ones each product's
# NEIGHBOURS nearest (a FAISS scan of the category), averaging over the pairs compared.
ALL_PAIRS_UP_TO = 300
NEIGHBOURS = 24
# When at most this share of a category changed since it was grouped, the changed products
# join the groups of their nearest neighbours instead of the whole category being grouped
# again (`catalog index --full` groups everything afresh).
REGROUP_ABOVE = 0.05


def group_index(vectors: SemanticIndex, categories: set[str] | None = None,
                changed: set[int] | None = None) -> dict[int, list]:
    """Each product's kind group and reading, for the products of `categories` (all when
    None): {id: full payload}, only where it changed.

    A category whose products all carry a merchant type that several brands share is
    grouped by type, with no vectors read. Otherwise its products are clustered
    (catalog.domain.kinds.group_kinds) on pair scores from their embedding similarity,
    attributes, kind names, audiences and parts; or, when only a few of them are
    `changed` (or new), only those are read again and join their nearest neighbours'
    groups, so an update costs what changed."""
    payload = vectors.payload
    by_category: dict[str, list[int]] = {}
    for pid, value in payload.items():
        if _indexed(value) and (categories is None or value[0] in categories):
            by_category.setdefault(value[0], []).append(pid)
    facts = _Facts(payload)  # each product's payload read once, for its category and for the parts
    whole: list[PartIndex] = []

    def parts() -> PartIndex:  # what the catalog's products are called: read once, when a part needs it
        if not whole:
            whole.append(PartIndex(facts[pid] for pid, v in payload.items() if _indexed(v)))
        return whole[0]

    out: dict[int, list] = {}
    for category, ids in by_category.items():
        ids.sort()
        fresh = [pid for pid in ids if changed is None or pid in changed or _group(payload[pid]) is None]
        types = _shared_types(payload, ids)
        if all(types.values()):
            todo = fresh
            readings = {}
            for pid in todo:
                f = facts[pid]
                made_for = parts().made_for(f) if f.part_of else frozenset()
                readings[pid] = KindReading(f, None, types[pid], made_for, None, f.head)
            groups = {pid: f"t:{category}:{types[pid]}" for pid in todo}
        else:
            names = KindNames([facts[pid] for pid in ids], parts)
            readings = _Readings(names, facts)
            if changed is not None and len(fresh) <= REGROUP_ABOVE * len(ids):
                todo = fresh
                grouped = [pid for pid in ids if pid not in set(fresh)]
                groups = _join_neighbours(vectors, category, fresh, grouped, readings)
            else:
                todo = ids
                clusters = group_kinds(ids, _pair_scores(vectors, ids, readings),
                                       missing=0.0 if len(ids) <= ALL_PAIRS_UP_TO else None)
                groups = {pid: f"g:{category}:{g}" for pid, g in clusters.items()}
        for pid in todo:
            value = payload[pid]
            full = [*_own_part(value), [groups[pid], *readings[pid].catalog_part()]]
            if full != value:
                out[pid] = full
    return out


def _shared_types(payload: dict, ids: list[int]) -> dict[int, str | None]:
    """Each product's merchant type where it decides the kind (KindNames.shared_type),
    read straight from the payloads: a category of typed products needs nothing else."""
    brands: dict[str, set[str]] = {}
    for pid in ids:
        value = payload[pid]
        if value[1]:
            brands.setdefault(value[1], set()).add(value[7] or " ".join(value[8]))
    typed = sum(1 for pid in ids if payload[pid][1])
    if typed < TYPED_SHARE * len(ids):
        return {pid: None for pid in ids}
    return {pid: payload[pid][1] if len(brands.get(payload[pid][1], ())) >= MIN_BRANDS else None for pid in ids}


class _Facts(dict):
    """Products' KindFacts, read from their payloads when first asked for."""

    def __init__(self, payload: dict) -> None:
        super().__init__()
        self.payload = payload

    def __missing__(self, pid: int) -> KindFacts:
        found = self[pid] = _facts(self.payload[pid])
        return found


class _Readings(dict):
    """Products' readings (KindNames.read), made when first asked for."""

    def __init__(self, names: KindNames, facts: dict[int, KindFacts]) -> None:
        super().__init__()
        self.names, self.facts = names, facts

    def __missing__(self, pid: int) -> KindReading:
        reading = self[pid] = self.names.read(self.facts[pid])
        return reading


def _join_neighbours(vectors: SemanticIndex, category: str, fresh: list[int], grouped: list[int],
                     readings: dict[int, KindReading]) -> dict[int, str]:
    """Each fresh product's group: the one whose products among its nearest neighbours
    score best with it (pair_score), when that mean clears the threshold; else its own."""
    out: dict[int, str] = {}
    if not fresh:
        return out
    # The category's grouped vectors in an index of their own, stored the same way (fp16,
    # re-encoded without loss), give the same neighbours and scores as a search of the
    # whole index restricted to them: one scan of the category for all fresh products, not
    # one of the whole catalog each (100 changed products cost 100 catalog-wide scans).
    among = np.asarray(grouped, dtype="int64")
    with _one_thread():
        local = empty_index()
        if len(among):
            local.add_with_ids(vectors.index.reconstruct_batch(among), among)
        found = nearest(local, vectors.index.reconstruct_batch(np.asarray(fresh, dtype="int64")), NEIGHBOURS)
    for pid, near in zip(fresh, found):
        by_group: dict[str, list[float]] = {}
        for other, similarity in near:
            group = _group(vectors.payload[other])
            if group is not None:
                by_group.setdefault(group, []).append(pair_score(similarity, readings[pid], readings[other]))
        best = max(by_group.items(), key=lambda item: sum(item[1]) / len(item[1]), default=None)
        fits = best is not None and sum(best[1]) / len(best[1]) >= KIND_THRESHOLD
        out[pid] = best[0] if fits else f"g:{category}:{pid}"
    return out


@contextmanager
def _one_thread() -> Iterator[None]:
    """FAISS without OpenMP threads in this thread, for work of a few milliseconds: on a
    machine whose cores are busy, its threads wait for each other far longer than the work
    takes (a search among 4,000 vectors: 0.6 ms alone, ~20 ms with two threads on two
    shared cores). The results are the same."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


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
    with _gc_paused():
        index = SubstituteIndex(vectors)
    with _cache_lock:
        _cache[path] = (meta.stat().st_mtime if meta.exists() else -1.0, index)


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
    with _gc_paused():
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
    gone = {vectors.payload[pid][0] for pid in removed if _indexed(vectors.payload.get(pid))}
    payload = {}
    for p in products:
        own, old = kind_payload(p), vectors.payload.get(p.id)
        payload[p.id] = [*own, old[_OWN]] if _indexed(old) and len(old) > _OWN and _own_part(old) == own else own
    # Saved once, with the groups (a full build also saves its vectors first, so a failure in
    # grouping does not cost the embedding of the whole catalog again).
    embedded = vectors.update(texts, embedder, progress, remove=removed, payload=payload, watermark=started,
                              text_version=TEXT_VERSION, save=everything)
    # Kinds are groups of a category's products: a category is looked at again when one of
    # its products is new, says something else or was embedded again, or left.
    changed = {pid for pid, (h, old) in before.items()
               if pid in vectors.payload and (h != vectors.hashes.get(pid) or old != vectors.payload[pid])}
    changed |= {pid for pid, v in vectors.payload.items() if _group(v) is None}
    dirty = gone | {vectors.payload[pid][0] for pid in changed}
    with _gc_paused():
        groups = group_index(vectors, None if everything else dirty, None if everything else changed) \
            if dirty or everything else {}
    vectors.update({}, embedder, payload=groups, watermark=started)
    _install(uow.url, vectors)
    return IndexReport(embedded, len(removed), len(vectors))


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while the index's payloads are read or grouped: they
    are hundreds of thousands of small lists that live on, which each collection would walk
    again for nothing (about a third of grouping 100,000 products)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
            kind = index.product_kind(pid) if pid in index else index.kind_of_new(product, vector)
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
