"""Which products may stand in for an out-of-stock one, in what order, and why.

Pure rules over plain values (no database, no model): the service gathers candidates
by embedding similarity and stock, then everything a shopper would judge is decided
here:

- the same kind of product: the same group of the category (catalog.domain.kinds, from
  embeddings, attributes, kind names and types together), or without one the same
  ``type`` attribute, else the same head noun phrase of the title. Sharing words is not
  enough: a coffee grinder is no substitute for a coffee maker, running socks none for
  running shoes; and a part made for the product (a jar for a blender) or a kids'
  version of an adult one never is, whatever else they share;
- what shoppers took before when offered this product's substitutes ranks higher, and
  what they took often counts as the same kind;
- sellable now (available > 0); pre-orderable from an incoming delivery (marked so)
  only when nothing of the kind is on the shelf;
- the colour or size the shopper asked for, when they asked;
- a price band near the original (inside it first, then outside it; the closer the
  better; only far outside it not offered);
- the same item from another supplier first.

Nothing here knows any particular catalog: categories, types and titles are compared
as text, so a merchant's own catalog is ranked by the same rules.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from catalog.domain.kinds import KindReading, confusable, head_noun_phrase, normalised, qualifier, read_kind
from catalog.domain.kinds import words as kind_words
from catalog.domain.products import category_leaf, product_type
from catalog.domain.variants import matches, norm_color, norm_size

# A price band ranks, it does not hide: a substitute costing between MIN_PRICE_RATIO and
# MAX_PRICE_RATIO times the original comes before one outside it (on the shelf or not),
# and within each, distance in log-price lowers the score. Only beyond the far limits is
# it not offered at all: a shopper looking at a $40 coffee maker is not helped by a $150 one.
MIN_PRICE_RATIO = 0.5
MAX_PRICE_RATIO = 1.6
FAR_MIN_PRICE_RATIO = 1 / 3
FAR_MAX_PRICE_RATIO = 3.0
# Shoppers' recorded choices for this product: each point of `Candidate.feedback` (from -1,
# always turned down, to 1, always taken) is worth this much score.
FEEDBACK_WEIGHT = 0.2
PRICE_WEIGHT = 0.25  # score lost per unit of |ln(price ratio)| (x1.6 ≈ -0.12)
SAME_BRAND_BONUS = 0.03
PREORDER_PENALTY = 0.15  # pre-orders come after everything on the shelf, and score lower
SIZE_MISMATCH_PENALTY = 0.10  # made in none of the original's sizes (when the shopper named none)
SAME_ITEM_SCORE = 2.0  # the same item via another supplier / a duplicate listing: always first


# --------------------------------------------------------------------------- product kind

@dataclass(frozen=True)
class ProductKind:
    """What a product is, as the ranking compares it.

    `group` is the product's kind among the products of its category
    (catalog.domain.kinds.group_kinds, computed when the index is built): two products
    are of one kind when their groups are the same. Without a group (a rule applied to
    plain values, or a product added since the last index run) the merchant's type is
    compared when both have one, else the head of the title. `reading` (when known)
    says whether one is a part for the other or a kids' version of an adult one: never
    a substitute, whatever the groups."""

    category: str  # normalised leaf category
    type_attr: str | None  # normalised product type (catalog.domain.products.product_type), when there is one
    head: str  # head noun phrase of the title
    group: str | None = None
    reading: KindReading | None = None  # its facts as the catalog reads them (catalog.domain.kinds.KindNames)

    def same_as(self, other: ProductKind) -> bool:
        if self.group is not None and other.group is not None:
            return self.group == other.group and not self.confused_with(other)
        if not self.category or self.category != other.category:
            return False
        if self.type_attr and other.type_attr:
            return self.type_attr == other.type_attr
        return bool(self.head) and self.head == other.head and not self.confused_with(other)

    def confused_with(self, other: ProductKind) -> bool:
        return self.reading is not None and other.reading is not None and confusable(self.reading, other.reading)


def kind_of(title: str, brand: str | None, category: str, attributes: dict | None,
            description: str = "") -> ProductKind:
    """A product's kind from its own fields only (no group: see catalog.domain.kinds)."""
    reading = KindReading(read_kind(title, brand, category, description, attributes))
    return ProductKind(normalised(category_leaf(category)), normalised(product_type(attributes)) or None,
                       head_noun_phrase(title, brand), reading=reading)


@lru_cache(maxsize=20_000)  # ranking compares every candidate with the original; titles repeat
def item_key(title: str, brand: str | None) -> str:
    """Brand and title once sizes, punctuation and a trailing listing number are ignored."""
    return " ".join(kind_words(brand or "")) + "|" + " ".join(kind_words(title))


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
    feedback: float = 0.0  # shoppers' choices when it was offered for the original: -1 (never taken) .. 1
    chosen: bool = False  # shoppers took it for the original often enough to count as the same kind


@dataclass(frozen=True)
class Ranked:
    product_id: int
    title: str
    variant: VariantOption
    score: float
    reason: Reason
    same_item: bool = False
    in_band: bool = True  # within the price band (see MIN_PRICE_RATIO)

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


def price_ok(original: Decimal | None, price: Decimal, low: float = MIN_PRICE_RATIO,
             high: float = MAX_PRICE_RATIO) -> bool:
    """Within the price band (by default the near one, which ranks; the far one hides)."""
    if not original or original <= 0:
        return True
    ratio = float(price) / float(original)
    return low <= ratio <= high


def score(original: Original, cand: Candidate, variant: VariantOption) -> float:
    s = cand.similarity
    if original.price and original.price > 0 and variant.price > 0:
        s -= PRICE_WEIGHT * abs(math.log(float(variant.price) / float(original.price)))
    if original.brand and cand.brand and original.brand.strip().lower() == cand.brand.strip().lower():
        s += SAME_BRAND_BONUS
    if variant.available <= 0:
        s -= PREORDER_PENALTY
    s += FEEDBACK_WEIGHT * cand.feedback
    if not original.asked_size and original.sizes and variant.size is not None:
        made = {norm_size(v) or "" for v in original.sizes}
        if (norm_size(variant.size) or "") not in made:
            s -= SIZE_MISMATCH_PENALTY
    return s


def rank(original: Original, candidates: list[Candidate], k: int = 5) -> list[Ranked]:
    """Filter and order candidates; at most one offer per product.

    The same item first, then what is on the shelf (pre-orders only when nothing is);
    within each, those in the price band first; best score first within those."""
    kinds = type_qualifiers(original, candidates)
    head = original.kind.head
    wanted = qualifier(original.title, original.brand, head) if original.kind.type_attr is None else None
    out: list[Ranked] = []
    for cand in candidates:
        duplicate = same_item(original.title, original.brand, cand.title, cand.brand) and cand.kind.category == original.kind.category
        if not duplicate and not original.kind.same_as(cand.kind) and \
                not (cand.chosen and not original.kind.confused_with(cand.kind)):
            continue
        if not duplicate and wanted in kinds and cand.kind.type_attr is None:
            other = qualifier(cand.title, cand.brand, head)
            if other in kinds and other != wanted:
                continue  # a trail running shoe for a road one: same words, another kind
        variant = choose_variant(original, cand.variants)
        if variant is None or not price_ok(original.price, variant.price, FAR_MIN_PRICE_RATIO, FAR_MAX_PRICE_RATIO):
            continue
        s = SAME_ITEM_SCORE + cand.similarity if duplicate else score(original, cand, variant)
        out.append(Ranked(cand.product_id, cand.title, variant, round(s, 4),
                          reason_for(original, cand.brand, variant, duplicate), duplicate,
                          duplicate or price_ok(original.price, variant.price)))
    out.sort(key=lambda r: (not r.same_item, r.preorder, not r.in_band, -r.score, r.title, r.variant.sku))
    if any(not r.preorder for r in out):
        # Another product to wait for helps only when nothing like it can be had now (the
        # original itself can usually be pre-ordered, and the stock answer says so).
        out = [r for r in out if not r.preorder]
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
