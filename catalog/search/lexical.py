"""Which products a shopper's words point to: weighted word matching over the catalog.

Each product is indexed by the tokens of its name (catalog.search.text.words), in three
places: its own words (brand and title, less what follows a "for"), what it is for (the
words after "for"/"fits"/"compatible with": the device an accessory goes with), and what
kind of thing it is (category leaf, type, the colours and sizes it comes in).

A question is scored by how much of what it says a product has, each word weighted by how
rare it is in the catalog (a model number or a brand says more than "black"). Words the
catalog has never seen are left out (chat, a brand the shop does not sell), unless they
look like a typo of a catalog word. What the shopper wants (before a "for") must be among
the product's own words; the words after a "for" name the device. So "the jar for the X"
finds the jar made for X, and "the X" alone finds X rather than its accessories.

A brand the shop sells, once named, weighs double and marks down other brands' products;
a word after "not" marks down the products that have it; accessories and parts rank a
little lower unless the shopper asks for one.

Nothing here is tuned to one catalog: the weights are the catalog's own word statistics.
"""
from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from catalog.domain.products import ProductInfo, category_leaf, product_type
from catalog.search.shopping_words import ACCESSORY_WORDS
from catalog.search.text import FRAME_WORDS, Token, fold, root, split_for, title_parts, words

OWN, KIND, FOR, OWN_JOINED = 0, 1, 2, 3  # where a product has a word (OWN_JOINED: "kx200" of "KX-200")

# How much a query word counts when the product has it in a given place. Rows: the query
# word names what is wanted / what it goes with; columns: OWN, KIND, FOR, OWN_JOINED.
CREDIT = {
    False: (1.0, 0.8, 0.35, 1.0),  # "the X": X's own name, not an accessory made for X
    True: (0.6, 0.5, 1.0, 0.6),  # "... for the X": the device named after "for"
}
TYPO_SIMILARITY = 84  # rapidfuzz ratio for a word to count as a misspelling of another
HINT_WEIGHT = 1.5  # words the NLU marked as the product name count this much more
OPTIONAL_WEIGHT = 0.5  # a bare small number or an asked colour/size: may be the name, may be a variant
COMMON = 0.05  # words in more than this share of products do not bring candidates on their own
BRAND_WEIGHT = 2.0  # a brand the shop sells, named: the strongest hint there is ("<brand> kettle")
OTHER_BRAND = 0.6  # a product of another brand than the one the shopper named
TYPO_WEIGHT = 0.5  # a word read as a misspelling may be a word the catalog does not have
ROOT_CREDIT = 0.85  # "runner" asked, "running" in the title: the same root, not the same word
ACCESSORY = 0.9  # an accessory or part, when the shopper asked for neither (a device's name alone)
NEGATED = 0.7  # a product that has the word the shopper said "not" to ("the standard one, not the max")
BRAND_SHARE = 0.5  # a brand's word is a brand name when at least this share of its uses are in brands
# Question words that are also common in product names ("Model 3", "Version 2"): searched,
# but only as optional words.
NAME_LIKE_FRAME_WORDS = frozenset({"color", "colour", "model", "version", "size"})
_NOT = re.compile(r"(?<![a-z0-9])(?:not|n't)\s+(?:the\s+|a\s+|an\s+)?([a-z0-9][a-z0-9\-]*)")


@dataclass(frozen=True)
class QueryWord:
    """One word of a question, with the catalog words that stand for it: itself, what it
    misspells, its root ("runner" -> "run": a "Running Shoe" has it), each with how much
    a match on it counts."""

    text: str
    weight: float
    after_for: bool
    optional: bool
    negated: bool = False
    means: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Query:
    words: tuple[QueryWord, ...]
    brands: tuple[frozenset[str], ...]  # the brands it names, each as its distinctive words
    for_accessory: bool = False  # says "for ..." or "replacement", "spare"...

    def __bool__(self) -> bool:
        """False when nothing in it can name a product: a bare "1" or "black" is not a name."""
        return any(not w.negated and not w.optional for w in self.words)


class LexicalIndex:
    """Token postings and weights for one catalog snapshot (built whole, never changed)."""

    def __init__(self, products: Iterable[ProductInfo], cache: dict[int, ProductWords] | None = None) -> None:
        """`cache`: the words of products as last indexed, reused when a product is unchanged
        (a refresh after one edit does not re-read 100,000 titles); updated in place."""
        self.places: dict[int, dict[str, int]] = {}
        self.accessories: set[int] = set()
        self.own_weight: dict[int, float] = {}
        postings: dict[str, list[int]] = {}
        cache = cache if cache is not None else {}
        for p in products:
            known = cache.get(p.id)
            if known is None or known.source != _source(p):
                known = cache[p.id] = ProductWords.of(p)
            self.places[p.id] = known.places
            if known.accessory:
                self.accessories.add(p.id)
            for token in known.places:
                postings.setdefault(token, []).append(p.id)
        self.postings = postings
        n = max(len(self.places), 1)
        self.idf = {t: math.log(1.0 + n / len(ids)) for t, ids in postings.items()}
        self.common = max(50, int(n * COMMON))
        self.vocabulary = [t for t in postings if t.isalpha() and len(t) >= 4]
        self.frame_vocabulary = [w for w in FRAME_WORDS if len(w) >= 4]
        for pid, places in self.places.items():
            self.own_weight[pid] = sum(self.idf[t] for t, where in places.items() if where == OWN) or 1.0
        # Brands by their distinctive words ("Red Heron" -> {"red", "heron"} when both
        # are mostly brand words; "Quarry Oak Tea" -> {"quarry", "oak"}).
        in_brands: dict[str, int] = {}
        for pid in self.places:
            for token in cache[pid].brand:
                in_brands[token] = in_brands.get(token, 0) + 1
        self.brands: dict[str, list[frozenset[str]]] = {}
        for key in {self._brand_key(cache[pid].brand, in_brands) for pid in self.places}:
            for token in key:
                self.brands.setdefault(token, []).append(key)

    def _brand_key(self, brand: tuple[str, ...], in_brands: dict[str, int]) -> frozenset[str]:
        return frozenset(t for t in brand if t in self.postings
                         and in_brands.get(t, 0) >= BRAND_SHARE * len(self.postings[t]))

    def __len__(self) -> int:
        return len(self.places)

    def query(self, text: str, hint: str | None = None, drop: Iterable[str] = (),
              optional: Iterable[str] = ()) -> Query:
        """The weighted words of a message: what is wanted, and (after "for") what it goes
        with. `hint` (the NLU's product span) weighs more; `drop`ped words are not searched;
        `optional` words (a colour or size asked for) count half, like bare small numbers."""
        dropped = {t.text for d in drop for t in words(d)}
        optional_words = {t.text for o in optional if o for t in words(o)}
        hinted = {t.text for t in words(hint or "", frame=True)}
        negated = {t.text for m in _NOT.finditer(fold(text)) for t in words(m.group(1))}
        head, tail = split_for(text)
        out: dict[str, QueryWord] = {}
        for part, after_for in ((head, False), (tail, True)):
            tokens = [t for t in words(part, frame=True) if not t.root]
            tokens += [Token(w, optional=True) for w in re.findall(r"[a-z]+", fold(part)) if w in NAME_LIKE_FRAME_WORDS]
            for token in tokens:
                if token.text in dropped or token.text in out:
                    continue
                means, exact = self._means(token)
                if not means:
                    continue
                weight = self.idf[means[0][0]] * (TYPO_WEIGHT * means[0][1] if exact is None else 1.0)
                if token.text in hinted:
                    weight *= HINT_WEIGHT
                optional_word = token.optional or token.text in optional_words or exact is None
                if optional_word:
                    weight *= OPTIONAL_WEIGHT
                out[token.text] = QueryWord(token.text, weight, after_for, optional_word,
                                            negated=token.text in negated, means=tuple(means))
        said = {w for q in out.values() if not q.negated for w, credit in q.means if credit == 1.0}
        brands = {key for t in said for key in self.brands.get(t, ()) if key and key <= said}
        named = set().union(*brands) if brands else set()
        found = tuple(QueryWord(q.text, q.weight * BRAND_WEIGHT, q.after_for, q.optional, q.negated, q.means)
                      if q.text in named else q for q in out.values())
        for_accessory = bool(tail.strip()) or bool(ACCESSORY_WORDS & set(re.findall(r"[a-z]+", fold(text))))
        return Query(found, tuple(brands), for_accessory)

    def _means(self, token: Token) -> tuple[list[tuple[str, float]], bool | None]:
        """Catalog words this token stands for, with how much each counts, and whether the
        token is itself a catalog word (None: only a guess at a misspelling)."""
        word_root = root(token.text)
        by_root = [(word_root, ROOT_CREDIT)] if word_root and word_root != token.text and word_root in self.idf else []
        if token.text in self.idf:
            return [(token.text, 1.0)] + by_root, True
        if by_root:
            return by_root, False  # "runner" in a shop of "running" shoes
        if token.joined or not token.text.isalpha() or len(token.text) < 4:
            return [], False
        found = process.extract(token.text, self.vocabulary, scorer=fuzz.ratio, score_cutoff=TYPO_SIMILARITY, limit=3)
        if not found:
            return [], False
        frame = process.extractOne(token.text, self.frame_vocabulary, scorer=fuzz.ratio, score_cutoff=TYPO_SIMILARITY)
        if frame and frame[1] >= found[0][1]:
            return [], False  # "avaliable": a misspelt question word, not a product word
        best = found[0][1]
        return [(word, score / 100.0) for word, score, _ in found if score >= best - 3], None

    def scores(self, query: Query, extra: Iterable[int] = ()) -> dict[int, float]:
        """product id -> how well it matches, 0..1, for products that share a rare word with
        the query (or are in `extra`, e.g. the nearest by meaning)."""
        if not query:
            return {}
        candidates: set[int] = set(extra)
        wanted = [(q, w) for q in query.words if not q.negated for w, _ in q.means]
        rare = [(q, w) for q, w in wanted if not q.optional and len(self.postings[w]) <= self.common]
        for _, w in rare or wanted:
            candidates.update(self.postings[w])
        return {pid: self.score(pid, query) for pid in candidates if pid in self.places}

    def score(self, pid: int, query: Query) -> float:
        places = self.places[pid]
        wanted = got = own = 0.0
        factor = 1.0
        for q in query.words:
            if q.negated:
                factor *= NEGATED if any(places.get(w) in (OWN, OWN_JOINED) for w, _ in q.means) else 1.0
                continue
            credit, word = 0.0, None
            for w, how_much in q.means:
                where = places.get(w)
                if where is not None and CREDIT[q.after_for][where] * how_much > credit:
                    credit, word = CREDIT[q.after_for][where] * how_much, w
            wanted += q.weight
            got += q.weight * credit
            if word is not None and places[word] == OWN:
                own += self.idf[word]
        if not wanted:
            return 0.0
        if query.brands and not any(brand <= places.keys() for brand in query.brands):
            factor *= OTHER_BRAND
        if not query.for_accessory and pid in self.accessories:
            factor *= ACCESSORY
        # How much of the product's own name was said: breaks ties between "X" and "X Pro".
        coverage = min(1.0, own / self.own_weight[pid])
        return got / wanted * (0.85 + 0.15 * coverage) * factor


def _source(p: ProductInfo) -> tuple:
    return (p.title, p.brand, p.category, product_type(p.attributes), p.colors, p.sizes)


@dataclass(frozen=True)
class ProductWords:
    """A product's tokens and where it has them (its own name wins over kind, kind over "for")."""

    source: tuple
    places: dict[str, int]
    brand: tuple[str, ...]
    accessory: bool  # its title or category calls it a replacement, spare, accessory...

    @classmethod
    def of(cls, p: ProductInfo) -> ProductWords:
        places: dict[str, int] = {}
        own, for_what = title_parts(p.title)
        sources = (
            (f"{p.brand or ''} , {own}", OWN),
            (" , ".join(x for x in (category_leaf(p.category), product_type(p.attributes) or "",
                                    *p.colors, *p.sizes) if x), KIND),
            (for_what, FOR),
        )
        for text, where in sources:
            for token in words(text):
                code = OWN_JOINED if where == OWN and token.joined else where
                known = places.get(token.text)
                if known is None or (known == OWN_JOINED and code == OWN):
                    places[sys.intern(token.text)] = code  # one string per word across the catalog
        said = set(re.findall(r"[a-z]+", fold(f"{p.title} {category_leaf(p.category)}")))
        return cls(_source(p), places, tuple(sys.intern(t.text) for t in words(p.brand or "") if not t.root),
                   bool(ACCESSORY_WORDS & said))
