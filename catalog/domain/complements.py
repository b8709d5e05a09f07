"""What goes with an item a shopper bought: its accessories and companions, never a
replacement for it.

Pure rules over plain values; the service (catalog.services.complements) finds the
candidates and their stock. A product goes with the item bought when

- it says so: its title refers to the item ("Spare Globe for the Vantrel Ruxby 7",
  "Case compatible with Korvid Q5 / Q5 Pro", "Filter (fits RX-400)"), or a reference
  attribute does (`compatible_with: "Korvid Q5, Korvid Q6"`);
- it belongs to the same model: the same brand and the item's model name and number in
  its own name ("Vantrel Ruxby 7 Carry Sling"), and it is plainly an add-on (another leaf
  category, or at most ACCESSORY_PRICE_RATIO of the item's price), not a bigger model;
- or shoppers bought both in at least MIN_BOUGHT_TOGETHER orders.

Never what could replace the item: a product of the same kind (the substitutes' rule,
catalog.domain.substitutes) or the same item listed again is no complement.

What identifies the item in a reference: its brand, its model numbers, and its *name
words*: words of the item's name that no other brand's products use in their names
("Ruxby" in "Vantrel Ruxby 7"; not "dimmable", which several brands' lanterns share, nor
words of its category, nor the noun that ends its name). A reference must name the item by
at least one of them; numbers in a reference must be the item's ("for Ruxby 9" is not for
the Ruxby 7); a reference by brand alone ("for Korvid phones") must use only the item's
own words and category. Nothing here knows a particular catalog: which words several
brands share is counted in the merchant's own catalog.
"""
from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from catalog.domain.substitutes import kind_of, same_item

MIN_BOUGHT_TOGETHER = 2  # orders with both before "bought together" counts
ACCESSORY_PRICE_RATIO = Decimal("0.5")  # a same-line add-on in the item's own category costs at most this share

# "for", "compatible with", "fits" ... then what the product is for.
_MARKER = re.compile(
    r"\b(?:compatible\s+(?:with|for)|works\s+with|designed\s+for|made\s+for|suitable\s+for|replacement\s+for|"
    r"spare\s+for|to\s+fit|fits|for)\b", re.IGNORECASE)  # not a bare "fit": "Slim Fit Jeans"
# Where a reference (and a product's name) ends: pipes, commas, brackets, a spaced dash.
_CLAUSE_END = re.compile(r"\s[-\u2013\u2014]\s|[|,;:()\[\]]")
# Several models in one reference: "X5 / X5 Pro", "Ruxby 7 and Ruxby 9", "X5 & X6".
_ALTERNATIVES = re.compile(r"\s*(?:/|&|\+|\band\b|\bor\b)\s*", re.IGNORECASE)
# Attributes that name what a product fits (an importer keeps extra columns as attributes).
REFERENCE_KEYS = frozenset({"compatible_with", "compatible with", "compatibility", "compatible", "compatible_models",
                            "fits", "fits_models", "works_with", "works with", "for"})
# Enough of each REFERENCE_KEYS key to find the attributes that may hold one in a database.
REFERENCE_KEY_FRAGMENTS = ("compat", "fits", "works", '"for"')
_STOP = frozenset({"the", "a", "an", "your", "my", "all", "most", "any", "other", "of", "with", "in", "to", "by",
                   "and", "or", "use", "new", "model", "models", "series", "version", "edition", "gen",
                   "generation", "type", "size"})
_TOKEN = re.compile(r"[^\W\d_]+|\d+")


class Relation(enum.Enum):
    """Why a product goes with the item, strongest first."""

    NAMES_IT = 1  # its title or a reference attribute names the item's model
    SAME_LINE = 2  # same brand, the item's model words, an add-on
    FOR_THE_BRAND = 3  # made for the item's brand ("Hanging Hook for Vantrel Lanterns")
    BOUGHT_TOGETHER = 4  # in MIN_BOUGHT_TOGETHER orders or more with the item


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokens(text: str | None) -> list[str]:
    """Words and numbers, lower case, singular, without filler words: "KV-3 Globes" ->
    ["kv", "3", "globe"]. Letters and digits are separate tokens, so "Ruxby7", "Ruxby-7"
    and "Ruxby 7" read alike."""
    return [_singular(t) for t in _TOKEN.findall((text or "").lower()) if t not in _STOP]


def main_part(title: str) -> str:
    """A title's name, before specs and references: "Vantrel Ruxby 7" in
    "Vantrel Ruxby 7 – 3 modes, dimmable"; "Spare Globe" in "Spare Globe for ..."."""
    end = min((m.start() for m in (_CLAUSE_END.search(title), _MARKER.search(title)) if m), default=len(title))
    return title[:end]


def name_words(title: str) -> set[str]:
    """The words a product's name is made of (what "no other brand uses" is counted on)."""
    return {t for t in tokens(main_part(title)) if not t.isdigit()}


def brand_key(title: str, brand: str | None) -> str:
    """Whose name a product's name is: its brand, else the first word of its title
    (feeds often put the brand there: "ORVANA Ultrasonic Humidifier")."""
    return " ".join(tokens(brand)) or next(iter(tokens(title)), "")


def references(title: str, attributes: dict | None) -> list[list[str]]:
    """What a product says it is for: one token list per model it names."""
    texts = []
    for m in _MARKER.finditer(title):
        rest = title[m.end():]
        end = _CLAUSE_END.search(rest)
        texts.append(rest[:end.start()] if end else rest)
    for key, value in (attributes or {}).items():
        if str(key).strip().lower() in REFERENCE_KEYS and value not in (None, ""):
            texts += re.split(r"[,;|]", ", ".join(map(str, value)) if isinstance(value, list) else str(value))
    out = []
    for text in texts:
        for part in _ALTERNATIVES.split(text):
            words = tokens(part)
            if words:
                out.append(words)
    return out


@dataclass(frozen=True)
class Item:
    """A product as these rules see it (the item bought, or a candidate)."""

    product_id: int
    title: str
    brand: str | None
    category: str
    attributes: dict = field(default_factory=dict)
    price: Decimal | None = None  # a typical price of the product (the variant bought, for the item)


@dataclass(frozen=True)
class Identity:
    """How the item bought can be named: see the module's docstring."""

    brand: frozenset[str]  # the brand's words
    words: frozenset[str]  # every token of brand and title
    category: frozenset[str]
    name_words: frozenset[str]  # words no other brand uses in its names
    model: tuple[str, ...]  # name words and model numbers, in the name's order ("ruxby", "7")


def candidate_name_words(item: Item) -> list[str]:
    """Words of the item's name that may identify it, if no other brand uses them: not
    the brand, not its category's words, not numbers, not the noun its name ends with."""
    brand, category = set(tokens(item.brand)), set(tokens(item.category))
    words = [t for t in tokens(main_part(item.title)) if t not in brand]
    letters = [t for t in words if not t.isdigit()]
    if len(letters) > 1:
        letters = letters[:-1]  # "Dimmable Lantern": the noun says what it is, not which one
    return list(dict.fromkeys(t for t in letters if len(t) >= 3 and t not in category))


def identity(item: Item, shared: Iterable[str]) -> Identity:
    """The item's identity, given the words other brands also use in their names (`shared`)."""
    shared = set(shared)
    names = frozenset(t for t in candidate_name_words(item) if t not in shared)
    brand = frozenset(tokens(item.brand))
    model = tuple(dict.fromkeys(t for t in tokens(main_part(item.title)) if t in names or t.isdigit()))
    return Identity(brand, brand | frozenset(tokens(item.title)),
                    frozenset(tokens(item.category)), names, model)


def refers_to(reference: list[str], who: Identity) -> Relation | None:
    """Whether one reference ("vantrel ruxby 7 blender") names the item's model
    (NAMES_IT), only its brand (FOR_THE_BRAND), or something else (None)."""
    ref = set(reference)
    if any(t.isdigit() and t not in who.words for t in ref):
        return None  # another model number
    if ref & who.name_words:
        return Relation.NAMES_IT
    if ref & who.brand and ref <= who.words | who.category:  # by brand: only the item's own words
        return Relation.NAMES_IT if any(t.isdigit() for t in ref) else Relation.FOR_THE_BRAND
    return None


def relation(item: Item, who: Identity, candidate: Item, bought_together: int = 0) -> Relation | None:
    """Why `candidate` goes with `item`, or None (also when it could replace it)."""
    if candidate.product_id == item.product_id or _could_replace(item, candidate):
        return None
    said = [r for r in (refers_to(ref, who) for ref in references(candidate.title, candidate.attributes)) if r]
    if Relation.NAMES_IT in said:
        return Relation.NAMES_IT
    theirs = set(tokens(candidate.brand)) | set(tokens(candidate.title))
    if any(set(r) <= theirs for r in references(item.title, item.attributes)):
        return None  # the item is the accessory and this is what it fits: the shopper has one
    if _same_line(item, who, candidate):
        return Relation.SAME_LINE
    if said:
        return Relation.FOR_THE_BRAND
    if bought_together >= MIN_BOUGHT_TOGETHER:
        return Relation.BOUGHT_TOGETHER
    return None


def _could_replace(item: Item, candidate: Item) -> bool:
    if same_item(item.title, item.brand, candidate.title, candidate.brand):
        return True
    mine = kind_of(item.title, item.brand, item.category, item.attributes)
    theirs = kind_of(candidate.title, candidate.brand, candidate.category, candidate.attributes)
    return mine.same_as(theirs)


def _same_line(item: Item, who: Identity, candidate: Item) -> bool:
    """Same brand and the item's whole model, name and number ("Ruxby 7"): a line name
    alone ("Trailhead" socks, "Trailhead" tent) is a family, not a fit."""
    if not who.brand or set(tokens(candidate.brand)) != who.brand or not who.name_words:
        return False
    if not any(t.isdigit() for t in who.model):
        return False
    name = tokens(main_part(candidate.title))
    if not set(who.model) <= set(name) or any(t.isdigit() and t not in who.words for t in name):
        return False
    other_shelf = tokens(candidate.category) != tokens(item.category)
    cheap = (item.price is not None and candidate.price is not None
             and candidate.price <= item.price * ACCESSORY_PRICE_RATIO)
    return other_shelf or cheap


def rank_key(relation: Relation, bought_together: int, candidate: Item) -> tuple:
    """Strongest relation first, then most often bought together, then by title."""
    return relation.value, -bought_together, candidate.title.lower(), candidate.product_id
