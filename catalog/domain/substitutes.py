"""Which products may stand in for an out-of-stock one, in what order, and why.

Pure rules over plain values (no database, no model): the service gathers candidates
by embedding similarity and stock, then everything a shopper would judge is decided
here:

- the same kind of product: the leaf category must match AND the product type must
  match (the ``type`` attribute when both products have one, else the head noun phrase
  of the title). Sharing words is not enough: a coffee grinder is no substitute for a
  coffee maker, running socks none for running shoes;
- sellable now (available > 0), or pre-orderable from an incoming delivery, marked so
  and ranked after what is on the shelf;
- the colour or size the shopper asked for, when they asked;
- a price band near the original (outside it: not offered; inside it: the closer the
  better);
- the same item from another supplier first.

Nothing here knows any particular catalog: categories, types and titles are compared
as text, so a merchant's own catalog is ranked by the same rules.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from catalog.domain.products import category_leaf, product_type
from catalog.domain.variants import matches, norm_color, norm_size

# A substitute costing less than MIN_PRICE_RATIO or more than MAX_PRICE_RATIO times the
# original is not offered: a shopper looking at a $40 coffee maker is not helped by a
# $150 one. Within the band, distance in log-price lowers the score.
MIN_PRICE_RATIO = 0.5
MAX_PRICE_RATIO = 1.6
PRICE_WEIGHT = 0.25  # score lost per unit of |ln(price ratio)| (x1.6 ≈ -0.12)
SAME_BRAND_BONUS = 0.03
PREORDER_PENALTY = 0.15  # pre-orders come after everything on the shelf, and score lower
SIZE_MISMATCH_PENALTY = 0.10  # made in none of the original's sizes (when the shopper named none)
SAME_ITEM_SCORE = 2.0  # the same item via another supplier / a duplicate listing: always first


# --------------------------------------------------------------------------- product kind

_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_MEASURE = re.compile(
    r"\b\d+(?:[.,]\d+)?\s*(?:-\s*)?(?:ml|l|g|kg|oz|lb|cm|mm|m|w|v|mah|gb|tb|in|inch|\"|'|pc|pcs|piece|pieces|pack|cups?|person)?\b",
    re.IGNORECASE,
)
_NON_WORD = re.compile(r"[^\w\s-]")
_FOR_WITH = re.compile(r"\s+(?:for|with|w/)\s+", re.IGNORECASE)
_GENERIC_TAIL = frozenset({"set", "pack", "kit", "edition", "series", "model", "version", "new", "spf"})


def _singular(word: str) -> str:
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _words(text: str) -> list[str]:
    text = _PAREN.sub(" ", text.lower())
    text = _MEASURE.sub(" ", text)
    text = _NON_WORD.sub(" ", text).replace("-", " ")
    return [_singular(w) for w in text.split() if w and not any(c.isdigit() for c in w)]


def _normalised(text: str | None) -> str:
    """Lower case, singular words, no sizes or punctuation: "Coffee Machines" -> "coffee machine"."""
    return " ".join(_words(text or ""))


def _title_words(title: str, brand: str | None) -> list[str]:
    """The words of a title's main part, without the brand in front, sizes, counts,
    parentheses or trailing qualifiers ("..., 72\" Brushed Brass")."""
    main = title.split(",")[0].split(" - ")[0].split(" | ")[0]
    main = _FOR_WITH.split(main, maxsplit=1)[0] or main  # "Running Shoe for Men", "Kettle with Filter"
    words = _words(main)
    if brand:
        lowered = _words(brand)
        if words[: len(lowered)] == lowered:
            words = words[len(lowered):]
    while len(words) > 1 and words[-1] in _GENERIC_TAIL:
        words = words[:-1]
    return words


def head_noun_phrase(title: str, brand: str | None = None) -> str:
    """What a title says the thing is: its last one or two words."""
    return " ".join(_title_words(title, brand)[-2:])


def qualifier(title: str, brand: str | None, head: str) -> str | None:
    """The word just before `head`: "trail" in "Kestrel Trail Running Shoe", "drip" in
    "Crema Drip Coffee Maker" (or a model name, in "Crema Coffee Maker")."""
    words, tail = _title_words(title, brand), head.split()
    n = len(tail)
    return words[-n - 1] if n and len(words) > n and words[-n:] == tail else None


@dataclass(frozen=True)
class ProductKind:
    category: str  # normalised leaf category
    type_attr: str | None  # normalised product type (catalog.domain.products.product_type), when there is one
    head: str  # head noun phrase of the title

    def same_as(self, other: ProductKind) -> bool:
        if not self.category or self.category != other.category:
            return False
        if self.type_attr and other.type_attr:
            return self.type_attr == other.type_attr
        return bool(self.head) and self.head == other.head


def kind_of(title: str, brand: str | None, category: str, attributes: dict | None) -> ProductKind:
    return ProductKind(_normalised(category_leaf(category)), _normalised(product_type(attributes)) or None,
                       head_noun_phrase(title, brand))


@lru_cache(maxsize=20_000)  # ranking compares every candidate with the original; titles repeat
def item_key(title: str, brand: str | None) -> str:
    """Brand and title once sizes, punctuation and a trailing listing number are ignored."""
    return " ".join(_words(brand or "")) + "|" + " ".join(_words(title))


def same_item(a_title: str, a_brand: str | None, b_title: str, b_brand: str | None) -> bool:
    """The same product listed twice (e.g. once per supplier)."""
    return item_key(a_title, a_brand) == item_key(b_title, b_brand)


# --------------------------------------------------------------------------- candidates

@dataclass(frozen=True)
class VariantOption:
    """One sellable variant of a candidate, as the ranking sees it."""

    sku: str
    color: str | None
    size: str | None
    price: Decimal
    currency: str
    available: int
    preorder: int = 0  # free units on incoming purchase orders the shopper may pre-order
    eta: dt.date | None = None  # date the pre-order units are due

    @property
    def sellable(self) -> bool:
        return self.available > 0 or self.preorder > 0


@dataclass(frozen=True)
class Original:
    title: str
    brand: str | None
    kind: ProductKind
    price: Decimal | None  # price of what the shopper wanted
    colors: tuple[str, ...]  # colours the shopper wanted (asked, else what the product is made in)
    sizes: tuple[str, ...]
    asked_color: str | None = None
    asked_size: str | None = None


@dataclass(frozen=True)
class Candidate:
    product_id: int
    title: str
    brand: str | None
    kind: ProductKind
    similarity: float  # cosine similarity of the products' embeddings
    variants: tuple[VariantOption, ...]


@dataclass(frozen=True)
class Ranked:
    product_id: int
    title: str
    variant: VariantOption
    score: float
    reason: Reason
    same_item: bool = False

    @property
    def preorder(self) -> bool:
        return self.variant.available <= 0


def choose_variant(original: Original, variants: tuple[VariantOption, ...]) -> VariantOption | None:
    """The variant to offer: sellable, in the asked colour/size; preferring stock on the
    shelf, then the original's colour, then the most units."""
    ok = [v for v in variants if v.sellable and matches(original.asked_color, original.asked_size, v.color, v.size)]
    if not ok:
        return None
    wanted = {norm_color(c) for c in original.colors}
    return min(ok, key=lambda v: (v.available <= 0, norm_color(v.color) not in wanted if v.color else False, -v.available,
                                  -v.preorder))


def price_ok(original: Decimal | None, price: Decimal) -> bool:
    if not original or original <= 0:
        return True
    ratio = float(price) / float(original)
    return MIN_PRICE_RATIO <= ratio <= MAX_PRICE_RATIO


def score(original: Original, cand: Candidate, variant: VariantOption) -> float:
    s = cand.similarity
    if original.price and original.price > 0 and variant.price > 0:
        s -= PRICE_WEIGHT * abs(math.log(float(variant.price) / float(original.price)))
    if original.brand and cand.brand and original.brand.strip().lower() == cand.brand.strip().lower():
        s += SAME_BRAND_BONUS
    if variant.available <= 0:
        s -= PREORDER_PENALTY
    if not original.asked_size and original.sizes and variant.size is not None:
        made = {norm_size(v) or "" for v in original.sizes}
        if (norm_size(variant.size) or "") not in made:
            s -= SIZE_MISMATCH_PENALTY
    return s


def rank(original: Original, candidates: list[Candidate], k: int = 5) -> list[Ranked]:
    """Filter and order candidates; at most one offer per product."""
    kinds = type_qualifiers(original, candidates)
    head = original.kind.head
    wanted = qualifier(original.title, original.brand, head) if original.kind.type_attr is None else None
    out: list[Ranked] = []
    for cand in candidates:
        duplicate = same_item(original.title, original.brand, cand.title, cand.brand) and cand.kind.category == original.kind.category
        if not duplicate and not original.kind.same_as(cand.kind):
            continue
        if not duplicate and wanted in kinds and cand.kind.type_attr is None:
            other = qualifier(cand.title, cand.brand, head)
            if other in kinds and other != wanted:
                continue  # a trail running shoe for a road one: same words, another kind
        variant = choose_variant(original, cand.variants)
        if variant is None or not price_ok(original.price, variant.price):
            continue
        s = SAME_ITEM_SCORE + cand.similarity if duplicate else score(original, cand, variant)
        out.append(Ranked(cand.product_id, cand.title, variant, round(s, 4),
                          reason_for(original, cand.brand, variant, duplicate), duplicate))
    # The same item first, then what is on the shelf, then pre-orders; best score first within each.
    out.sort(key=lambda r: (not r.same_item, r.preorder, -r.score, r.title, r.variant.sku))
    return out[:k]


def type_qualifiers(original: Original, candidates: list[Candidate]) -> set[str]:
    """Words that name a sub-kind in titles of a catalog without a `type` attribute.

    A word right before the head noun ("trail", "road" before "running shoe") that
    products of at least two brands share marks a sub-kind the shopper cares about; a
    model or line name ("Kestrel") belongs to one brand. Learned from the products of
    the original's kind being ranked, so it needs no word list and adapts to the catalog."""
    if original.kind.type_attr is not None:
        return set()
    brands: dict[str, set[str]] = {}
    for title, brand, kind in [(original.title, original.brand, original.kind),
                               *((c.title, c.brand, c.kind) for c in candidates)]:
        if kind.type_attr is None and kind.head == original.kind.head and kind.category == original.kind.category:
            word = qualifier(title, brand, kind.head)
            if word:
                brands.setdefault(word, set()).add((brand or "").strip().lower())
    return {word for word, seen in brands.items() if len(seen) >= 2}


# --------------------------------------------------------------------------- why

@dataclass(frozen=True)
class Reason:
    """Why a substitute is offered, as facts; catalog.wording.substitutes says them
    ("same brand, black instead of blue, 12% cheaper, 40 in stock")."""

    available: int  # units on the shelf (0: a pre-order)
    same_item: bool = False  # the same item: another listing, or another supplier's
    supplier: str | None = None  # the other supplier shipping the same item
    ships_in_days: int | None = None
    supplier_qty: int | None = None  # what that supplier has now
    same_brand: bool = False
    brand: str | None = None  # another brand's
    color: str | None = None  # the suggestion's colour, when it is worth saying
    instead_of: tuple[str, ...] = ()  # the colours wanted, when the suggestion's differs
    size: str | None = None  # the suggestion's size, when it is worth saying
    price_change: float | None = None  # percent against the original; negative: cheaper
    eta: dt.date | None = None  # when a pre-order's units are due


def price_change(original: Decimal | None, price: Decimal | None) -> float | None:
    if not original or original <= 0 or price is None:
        return None
    return (float(price) - float(original)) / float(original) * 100


def reason_for(original: Original, brand: str | None, variant: VariantOption, duplicate: bool = False) -> Reason:
    wanted = tuple(c for c in original.colors if c)
    color, instead_of = None, ()
    if variant.color and wanted and norm_color(variant.color) not in {norm_color(c) for c in wanted}:
        color, instead_of = variant.color, wanted[:2]
    elif variant.color and original.asked_color:
        color = variant.color
    size = None
    if variant.size and (original.asked_size or (original.sizes and variant.size not in original.sizes)):
        size = variant.size
    same_brand = bool(original.brand and brand and original.brand.strip().lower() == brand.strip().lower())
    return Reason(
        available=max(0, variant.available), same_item=duplicate, same_brand=same_brand and not duplicate,
        brand=None if duplicate or same_brand else brand, color=color, instead_of=instead_of, size=size,
        price_change=price_change(original.price, variant.price),
        eta=variant.eta if variant.available <= 0 and isinstance(variant.eta, dt.date) else None)
