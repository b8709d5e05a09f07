"""Find the product a shopper means: by SKU, by the words of its name, by meaning.

Nothing here depends on the NLU training data, so products imported after the model
was trained are found exactly like the ones it was trained with. The resolver keeps an
in-memory snapshot of product titles and a FAISS index, and refreshes both when the
catalog changes.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from rapidfuzz import utils

from catalog.domain.products import ProductInfo, category_leaf, product_type, sku_key
from catalog.search.embedder import Embedder
from catalog.search.lexical import LexicalIndex, ProductWords, Query
from catalog.search.semantic_index import SemanticIndex
from catalog.search.text import product_query, sku_candidates
from catalog.uow import UnitOfWork

CONFIDENT = 0.66  # a single match this good is taken without asking
CLEAR_LEAD = 0.07  # ...when it is this far ahead of the next one
CANDIDATE = 0.48  # below this nothing is offered at all
NEAR_TOP = 0.10  # candidates this close to the best are offered as choices
MAX_CHOICES = 5
LEXICAL_WEIGHT = 0.75  # word match (catalog.search.lexical) vs. meaning (embeddings)


@dataclass(frozen=True)
class Match:
    product: ProductInfo
    score: float
    sku: str | None = None  # set when the shopper named a specific SKU


@dataclass(frozen=True)
class Resolution:
    query: str
    matches: tuple[Match, ...]

    @property
    def found(self) -> Match | None:
        return self.matches[0] if len(self.matches) == 1 else None

    @property
    def ambiguous(self) -> bool:
        return len(self.matches) > 1


def search_text(p: ProductInfo) -> str:
    """What a product is called and what it is: the text both matchers compare against."""
    return " ".join(x for x in (p.brand or "", p.title, category_leaf(p.category), product_type(p.attributes)) if x)


@dataclass(frozen=True)
class _Catalog:
    """One consistent snapshot of the catalog for matching. A refresh builds a new one and
    swaps it in whole, so a lookup running in another thread never sees half of each."""

    products: dict[int, ProductInfo]
    sku_to_product: dict[str, int]
    ids: list[int]
    exact: dict[str, list[int]]  # a product's name, as a query would read it
    index: SemanticIndex
    lexical: LexicalIndex

    @classmethod
    def of(cls, products: list[ProductInfo], index: SemanticIndex,
           words: dict[int, ProductWords] | None = None) -> _Catalog:
        exact: dict[str, list[int]] = {}
        for p in products:
            for name in {p.title, f"{p.brand} {p.title}" if p.brand else p.title}:
                exact.setdefault(utils.default_process(product_query(name)), []).append(p.id)
        return cls({p.id: p for p in products}, {sku_key(sku): p.id for p in products for sku in p.variant_skus},
                   [p.id for p in products], exact, index, LexicalIndex(products, words))


class ProductResolver:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], embedder: Embedder | None,
                 index: SemanticIndex | None = None, refresh_seconds: float = 2.0) -> None:
        self._uow_factory = uow_factory
        self._embedder = embedder
        self._refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._version: tuple | None = None
        self._checked_at = 0.0
        self._words: dict[int, ProductWords] = {}  # each product's tokens, kept across refreshes
        self._catalog = _Catalog.of([], index if index is not None else SemanticIndex(None))

    def refresh(self, force: bool = False) -> None:
        """Reload the snapshot when products were added or edited since the last look."""
        now = time.monotonic()
        if not force and now - self._checked_at < self._refresh_seconds:
            return
        with self._lock:
            if not force and now - self._checked_at < self._refresh_seconds:
                return
            with self._uow_factory() as uow:
                version = uow.catalog.version()
                if version == self._version and not force:
                    self._checked_at = now
                    return
                products = uow.catalog.products()
            index = self._catalog.index
            if self._embedder is not None:
                index = index.copy()  # lookups go on against the old index meanwhile
                index.sync({p.id: search_text(p) for p in products}, self._embedder)
            words = {p.id: self._words[p.id] for p in products if p.id in self._words}  # forget deleted ones
            self._catalog = _Catalog.of(products, index, words)
            self._words = words
            self._version = version
            self._checked_at = time.monotonic()

    def product(self, product_id: int) -> ProductInfo | None:
        self.refresh()
        return self._catalog.products.get(product_id)

    def by_sku(self, sku: str) -> Match | None:
        self.refresh()
        return self._by_sku(self._catalog, sku)

    @staticmethod
    def _by_sku(catalog: _Catalog, sku: str) -> Match | None:
        pid = catalog.sku_to_product.get(sku_key(sku))
        if pid is None:
            return None
        product = catalog.products[pid]
        exact = next(s for s in product.variant_skus if sku_key(s) == sku_key(sku))
        return Match(product, 1.0, exact)

    def resolve(self, text: str, hint: str | None = None, ignore_words: tuple[str, ...] = (),
                prefer: Callable[[ProductInfo], bool] | None = None,
                options: tuple[str | None, ...] = ()) -> Resolution:
        """Best matches for a message; `hint` is the NLU's product span if it found one.

        The whole message is searched, the hint's words weighing more: NLU spans are often
        cut short on unfamiliar names ("900w kettle" of "the velmora 900w kettle").
        `ignore_words` are not searched at all (words framing the request). `options` are
        the colour or size asked for: they help a product that comes in them and cost
        nothing to one whose title does not say them. `prefer` lets the caller favour
        products that have what was asked for, which breaks ties between near-identical titles.
        """
        self.refresh()
        catalog = self._catalog
        for candidate in sku_candidates(" ".join(x for x in (hint or "", text) if x)):
            match = self._by_sku(catalog, candidate)
            if match:
                return Resolution(candidate, (match,))
        drop = tuple(ignore_words) + tuple(o for o in options if o)
        query = product_query(hint or text, drop) or (product_query(text, drop) if hint else "")
        if not query or not catalog.ids:
            return Resolution(query, ())
        # The shopper typed a product's name: no need to guess. The whole message is tried
        # first because NLU spans can cut a name short ("Flow" tagged as a colour).
        for said in (product_query(text), product_query(text, drop), query):
            exact = catalog.exact.get(utils.default_process(said), [])
            if exact:  # one product: found; several with that very name: ask which brand
                return Resolution(said, tuple(Match(catalog.products[pid], 1.0) for pid in exact[:MAX_CHOICES]))
        words = catalog.lexical.query(text if text.strip() else hint or "", hint=hint, drop=ignore_words,
                                      optional=tuple(o for o in options if o))
        scores = self._score(catalog, words, product_query(text, drop) or query)
        if prefer is not None:
            scores = {pid: s + (0.03 if prefer(catalog.products[pid]) else 0.0) for pid, s in scores.items()}
        ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        if not ranked or ranked[0][1] < CANDIDATE:
            return Resolution(query, ())
        best = ranked[0][1]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        if best >= CONFIDENT and best - second >= CLEAR_LEAD:
            return Resolution(query, (Match(catalog.products[ranked[0][0]], best),))
        close = [(pid, s) for pid, s in ranked if s >= max(CANDIDATE, best - NEAR_TOP)][:MAX_CHOICES]
        return Resolution(query, tuple(Match(catalog.products[pid], s) for pid, s in close))

    def _score(self, catalog: _Catalog, words: Query, meaning: str) -> dict[int, float]:
        """Word match blended with similarity of meaning (when embeddings are on).

        Meaning is not asked for when the words alone decide: when no similarity could
        change the answer (the query's embedding is most of a lookup's time)."""
        lexical = catalog.lexical.scores(words)
        if not lexical or self._embedder is None or not len(catalog.index) or not meaning:
            return lexical
        best_lexical = sorted(lexical, key=lexical.__getitem__, reverse=True)[:30]
        if _decided(lexical[best_lexical[0]], lexical[best_lexical[1]] if len(best_lexical) > 1 else 0.0):
            return {pid: LEXICAL_WEIGHT * lexical[pid] for pid in best_lexical}
        vector = self._embedder.encode([meaning])[0]
        semantic = {pid: s for pid, s in catalog.index.search(vector, 30) if pid in catalog.products}
        for pid in semantic:
            if pid not in lexical:
                lexical[pid] = catalog.lexical.score(pid, words)
        missing = [pid for pid in best_lexical if pid not in semantic]
        if missing:
            semantic.update(catalog.index.scores_for(vector, missing))
        return {
            pid: LEXICAL_WEIGHT * lexical.get(pid, 0.0) + (1 - LEXICAL_WEIGHT) * max(0.0, semantic.get(pid, 0.0))
            for pid in set(best_lexical) | set(semantic)
        }


def _decided(best: float, second: float) -> bool:
    """True when the best word match wins with any similarity of meaning: confident even
    with none, and ahead even if the runner-up's meaning were a perfect match."""
    semantic = 1 - LEXICAL_WEIGHT
    return LEXICAL_WEIGHT * best >= CONFIDENT and LEXICAL_WEIGHT * (best - second) - semantic >= CLEAR_LEAD
