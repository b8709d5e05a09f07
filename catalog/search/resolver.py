"""Find the product a shopper means: by SKU, by fuzzy title match, by meaning.

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

from rapidfuzz import fuzz, process, utils

from catalog.domain.products import ProductInfo, category_leaf, product_type
from catalog.search.embedder import Embedder
from catalog.search.semantic_index import SemanticIndex
from catalog.search.text import product_query, sku_candidates
from catalog.uow import UnitOfWork

CONFIDENT = 0.66  # a single match this good is taken without asking
CLEAR_LEAD = 0.07  # ...when it is this far ahead of the next one
CANDIDATE = 0.48  # below this nothing is offered at all
NEAR_TOP = 0.10  # candidates this close to the best are offered as choices
MAX_CHOICES = 5
FUZZY_WEIGHT = 0.55


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


class ProductResolver:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], embedder: Embedder | None,
                 index: SemanticIndex | None = None, refresh_seconds: float = 2.0) -> None:
        self._uow_factory = uow_factory
        self._embedder = embedder
        self._index = index if index is not None else SemanticIndex(None)
        self._refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._version: tuple | None = None
        self._checked_at = 0.0
        self._products: dict[int, ProductInfo] = {}
        self._sku_to_product: dict[str, int] = {}
        self._ids: list[int] = []
        self._choices: list[str] = []
        self._exact: dict[str, list[int]] = {}  # a product's name, as a query would read it

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
            self._products = {p.id: p for p in products}
            self._sku_to_product = {sku.upper(): p.id for p in products for sku in p.variant_skus}
            self._ids = [p.id for p in products]
            self._choices = [utils.default_process(search_text(p)) for p in products]
            self._exact = {}
            for p in products:
                for name in {p.title, f"{p.brand} {p.title}" if p.brand else p.title}:
                    self._exact.setdefault(utils.default_process(product_query(name)), []).append(p.id)
            if self._embedder is not None:
                self._index.sync({p.id: search_text(p) for p in products}, self._embedder)
            self._version = version
            self._checked_at = time.monotonic()

    def product(self, product_id: int) -> ProductInfo | None:
        self.refresh()
        return self._products.get(product_id)

    def by_sku(self, sku: str) -> Match | None:
        self.refresh()
        pid = self._sku_to_product.get(sku.strip().upper())
        if pid is None:
            return None
        product = self._products[pid]
        exact = next(s for s in product.variant_skus if s.upper() == sku.strip().upper())
        return Match(product, 1.0, exact)

    def resolve(self, text: str, hint: str | None = None, ignore_words: tuple[str, ...] = (),
                prefer: Callable[[ProductInfo], bool] | None = None) -> Resolution:
        """Best matches for a message; `hint` is the NLU's product span if it found one.

        `prefer` lets the caller favour products that have what was asked for (a size or
        colour), which breaks ties between near-identical titles.
        """
        self.refresh()
        for candidate in sku_candidates(" ".join(x for x in (hint or "", text) if x)):
            match = self.by_sku(candidate)
            if match:
                return Resolution(candidate, (match,))
        query = product_query(hint or text, ignore_words) or (product_query(text, ignore_words) if hint else "")
        if not query or not self._ids:
            return Resolution(query, ())
        # The shopper typed a product's name: no need to guess. The whole message is tried
        # first because NLU spans can cut a name short ("Flow" tagged as a colour).
        for said in (product_query(text), product_query(text, ignore_words), query):
            exact = self._exact.get(utils.default_process(said), [])
            if exact:  # one product: found; several with that very name: ask which brand
                return Resolution(said, tuple(Match(self._products[pid], 1.0) for pid in exact[:MAX_CHOICES]))
        scores = self._score(query)
        if prefer is not None:
            scores = {pid: s + (0.03 if prefer(self._products[pid]) else 0.0) for pid, s in scores.items()}
        ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        if not ranked or ranked[0][1] < CANDIDATE:
            return Resolution(query, ())
        best = ranked[0][1]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        if best >= CONFIDENT and best - second >= CLEAR_LEAD:
            return Resolution(query, (Match(self._products[ranked[0][0]], best),))
        close = [(pid, s) for pid, s in ranked if s >= max(CANDIDATE, best - NEAR_TOP)][:MAX_CHOICES]
        return Resolution(query, tuple(Match(self._products[pid], s) for pid, s in close))

    def _score(self, query: str) -> dict[int, float]:
        processed = utils.default_process(query)
        fuzzy: dict[int, float] = {}
        for _, score, idx in process.extract(processed, self._choices, scorer=_fuzzy_scorer,
                                             processor=None, limit=30, score_cutoff=40):
            fuzzy[self._ids[idx]] = score / 100.0
        semantic: dict[int, float] = {}
        if self._embedder is not None and len(self._index):
            vector = self._embedder.encode([query])[0]
            semantic = dict(self._index.search(vector, 30))
            missing = [pid for pid in fuzzy if pid not in semantic]
            semantic.update(self._index.scores_for(vector, missing))
            for pid in semantic:
                if pid not in fuzzy and pid in self._products:
                    fuzzy[pid] = _fuzzy_scorer(processed, utils.default_process(search_text(self._products[pid]))) / 100.0
        if not semantic:
            return {pid: s for pid, s in fuzzy.items() if pid in self._products}
        return {
            pid: FUZZY_WEIGHT * fuzzy.get(pid, 0.0) + (1 - FUZZY_WEIGHT) * max(0.0, semantic.get(pid, 0.0))
            for pid in set(fuzzy) | set(semantic) if pid in self._products
        }


# WRatio blends whole, partial and word-order-free ratios, tolerates typos, and runs in C
# (a Python scorer would take half a second over 100,000 titles).
_fuzzy_scorer = fuzz.WRatio


