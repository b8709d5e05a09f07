"""What kind of product a listing is, read from a merchant's feed as it comes.

A feed names the kind of product in many places and none is reliable alone: the title's
first part ("Everyday Drip Coffee Maker", but also "Aero 2 – 12 settings, anti-static
cup", which names none and ends in a feature), the description's first phrase, a `type`
column that some merchants fill for every product and others for a few (with values
such as "glass", a detail rather than a kind), the attributes the merchant records
(capacity and wattage for one kind of product, display and battery for another). So
kinds are found among the products of one category, all signals together:

- `read_kind` (one product, when it is indexed): the candidate names of its kind, in
  order of trust, its attribute names, whether it is made for another product ("for X",
  "fits X", "compatible with X", "replacement", refills) and whether it is a kids' or an
  adult's version;
- `KindNames` (a catalog): a candidate name counts only when products of two brands use
  it (a model name such as "Vortex" is one brand's); a merchant type decides only where
  most of a category's products carry one; where nearly every title of a category ends
  in a kind (a tidy catalog), different title heads are different kinds; `PartIndex`
  resolves what a part says it fits to the kinds of the catalog's products;
- `pair_score` and `group_kinds`: products are grouped by average-linkage clustering on
  their embedding similarity, raised by shared attribute names and the same kind name,
  lowered by different kind names or audiences (a name one brand uses counts as its
  kind when its title's head and its merchant type say the same, "Milk Frother" typed
  "milk frother" beside shared "electric kettle"s); a part never joins the product it is
  made for, and two products whose merchant type (kept by several products) differs
  never join either. Where the tree of joins is cut depends on the category: kinds of
  one category can still score well above any fixed threshold (a feed's moisturizers
  and sunscreens share brands and wording), so a join is undone where its score drops
  clearly below how alike the products on each side are, and a category of one kind,
  where no join stands out, stays whole. The caller supplies the similarities of each
  product's nearest neighbours (catalog.services.substitutes), so a large category
  costs its neighbour lists, not all its pairs.

Only general English words are listed here (connectors, units, colours, sizes, the
words for a kids' version or for a part): nothing about any particular catalog.
"""
from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from catalog.domain.products import category_leaf, descriptive_attributes, product_type

# --------------------------------------------------------------------------- words

_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]")
# A number with its unit ("64 oz", "1200W", "5.5 Qt", "3-Pack", "2 x 2.5 qt"): a measure, not a word.
_MEASURE = re.compile(
    r"\b\d+(?:[.,/]\d+)?\s*(?:-\s*)?(?:x\s*\d+(?:[.,]\d+)?\s*)?"
    r"(?:ml|l|g|kg|oz|fl|lb|lbs|qt|quarts?|gal|gallons?|cm|mm|m|ft|feet|w|watts?|v|volts?|mah|gb|tb|"
    r"in|inch|inches|\"|'|pc|pcs|pieces?|packs?|ct|count|cups?|person|people|speeds?|players?|"
    r"settings?|ports?|slots?|stages?|layers?|channels?|days?|hours?|hrs?|mins?|minutes?|months?|years?|"
    r"y|yrs?|t|k|p|gph|psi|atm|bar|rpm|db|lm|lumens?|hz|khz|mp|gsm|wh|ah|mbps|gbps|fps)?\b",
    re.IGNORECASE,
)
_NON_WORD = re.compile(r"[^\w\s-]")
# Where a title splits into parts: pipes, commas, dashes between spaces, brackets, colons.
_SEGMENTS = re.compile(r"\s*(?:\||,|;|:|\s[–—-]\s|\s[–—]|[–—]\s|\(|\)|\[|\]|\s/\s|\+)\s*")
# Words after which a name talks about something else: "Jar for X", "Kettle with Filter".
_CONNECTORS = frozenset("""
for with w compatible fits fit fitting including includes incl featuring and or plus by from of in to that which
designed made sized suitable works using use
""".split())
# Words at the end of a name that say how it is sold, its size or who it is for, not what it is.
_GENERIC_TAIL = frozenset("""
set pack kit edition series model version new spf bundle combo collection pair piece pc count ct lot
replacement genuine original oem official authentic upgraded improved premium professional pro
size large small medium mini xl xxl xs standard regular twin full queen king
men man mens women woman womens lady ladies unisex adult kid child children boy girl toddler junior youth
""".split())
_COLOURS = frozenset("""
black white grey gray silver gold rose red blue navy green olive yellow orange pink purple lilac violet brown tan
beige ivory charcoal slate teal turquoise aqua burgundy maroon khaki copper bronze champagne blush
multicolor multicolour
""".split())
# Words that say a listing is a part or a consumable made for other products.
_PART_WORDS = frozenset("replacement refill spare compatible fits oem attachment accessory".split())
# What follows these is the product a part is made for ("... for Kestrel KX-2 kettles").
_FOR_TARGET = re.compile(r"\b(?:for use with|compatible with|works with|replacement for|to fit|for|fits|fit)\s+"
                         r"([^,|;:()–—+]+)", re.IGNORECASE)
# Words of a target that do not name a product: who it is for, what it is for, where.
_NOT_A_PRODUCT = _GENERIC_TAIL | frozenset("""
use home kitchen office travel outdoor indoor everyday daily all most any every model device
""".split())
# A kids' version: in words, by an age range ending in childhood, or by toddler sizes (4T).
_KIDS = re.compile(r"\b(?:kids?|kid's|kids'|child|children|children's|childrens|toddlers?|junior|youth|"
                   r"boys?|boys'|boy's|girls?|girls'|girl's)\b", re.IGNORECASE)
_AGES = re.compile(r"\bages?\s*(\d{1,2})\s*(?:-|–|to)\s*(\d{1,2})\b|\b(\d{1,2})\s*-\s*(\d{1,2})\s*(?:y|yrs?|years)\b"
                   r"|\b(\d{1,2})t\b", re.IGNORECASE)
_ADULT = re.compile(r"\b(?:men|men's|mens|women|women's|womens|ladies|ladies'|adults?|adult's)\b", re.IGNORECASE)
KIDS_AGE_LIMIT = 14  # an age range ending at or below this is a child's
AUDIENCE_KEYS = frozenset({"audience", "age_group", "age group", "agegroup", "gender", "department"})


def singular(word: str) -> str:
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


# A hyphen between letters makes one word of two ("on-ear" and "over-ear" are two kinds of
# headphone; split, both would end in "ear headphone").
_COMPOUND = re.compile(r"(?<=[^\W\d_])-(?=[^\W\d_])")


@lru_cache(maxsize=65_536)  # a catalog's titles and their parts are read several times while indexing
def _words(text: str) -> tuple[str, ...]:
    text = _PAREN.sub(" ", text.lower().replace("w/", "with ").replace("&", " and "))
    text = _COMPOUND.sub("", text)  # "on-ear", "single-serve": one modifier, as "over-ear" is another
    text = _NON_WORD.sub(" ", _MEASURE.sub(" ", text)).replace("-", " ").replace("_", " ")
    return tuple(singular(w) for w in text.split() if w.isalpha())


def words(text: str) -> list[str]:
    """Lower-case singular words without measures, numbers or punctuation."""
    return list(_words(text))


def normalised(text: str | None) -> str:
    """"Coffee Machines" -> "coffee machine"."""
    return " ".join(words(text or ""))


def category_key(category: str) -> str:
    """The category path, normalised: "Kitchen > Coffee Machines" -> "kitchen > coffee machine"."""
    parts = [normalised(p) for p in re.split(r"\s*[>/|]\s*", category or "") if p.strip()]
    return " > ".join(p for p in parts if p) or normalised(category_leaf(category))


NAME_WORDS = 3  # a kind's name is at most this many words: "espresso coffee machine" beside "drip coffee machine"


def _name(text: str, brand_words: frozenset[str]) -> list[str]:
    """The last words of one part of a title (or a description's first phrase) up to its
    first connector, without brand words, colours and trailing listing words:
    "Glass Blender Jar Replacement for X" -> [glass, blender, jar]."""
    out: list[str] = []
    for w in words(text):
        if w in _CONNECTORS:
            break
        if w not in brand_words and w not in _COLOURS:
            out.append(w)
    while out and (out[-1] in _GENERIC_TAIL or len(out[-1]) < 3):
        out.pop()
    return out[-NAME_WORDS:]


def _first_phrase(description: str) -> str:
    """"A programmable drip brewer with a glass carafe. ..." -> "programmable drip brewer with ..."."""
    first = re.split(r"(?<=[.!?])\s|[:;,]", description.strip(), maxsplit=1)[0] if description else ""
    first = re.sub(r"^\s*(?:an?|the|this|our|these|one|two|three|four|five|six|single|pair of|set of)\s+", "",
                   first, flags=re.IGNORECASE)
    if _OPENING_VERB.match(first):
        return ""  # "Features a steam wand and ...": a list of features, no name of the product
    owner = re.match(r"^((?:[\w&.]+\s){0,3}[\w&.]+)['’]s?\s", first)  # "Talus & Pine's packable rain jacket"
    if owner and not set(words(owner.group(1))) & _CONNECTORS:
        return first[owner.end():]
    return first


# A description that opens with one of these lists what the product has or does, not what it is.
_OPENING_VERB = re.compile(r"\s*(?:features?|featuring|includes?|including|comes|offers?|has|have|made|designed|"
                           r"built|perfect|ideal|great|keeps?|lets?|makes?|delivers?|provides?|brings?|enjoy|"
                           r"get|now|introducing|meet|crafted|engineered)\b", re.IGNORECASE)


def is_kids(text: str) -> bool:
    if _KIDS.search(text):
        return True
    for m in _AGES.finditer(text):
        ages = [int(g) for g in m.groups() if g]
        if ages and max(ages) <= KIDS_AGE_LIMIT:
            return True
    return False


# --------------------------------------------------------------------------- a title's head

_FOR_WITH = re.compile(r"\s+(?:for|with|w/|compatible|fits)\s+", re.IGNORECASE)
_TITLE_TAIL = frozenset({"set", "pack", "kit", "edition", "series", "model", "version", "new", "spf"})


def _title_words(title: str, brand: str | None) -> list[str]:
    """The words of a title's main part, without the brand in front, sizes, counts,
    parentheses or trailing qualifiers ("..., 72\" Brushed Brass")."""
    main = title.split(",")[0].split(" - ")[0].split(" | ")[0]
    main = _FOR_WITH.split(main, maxsplit=1)[0] or main  # "Running Shoe for Men", "Kettle with Filter"
    found = words(main)
    if brand:
        lowered = words(brand)
        if found[: len(lowered)] == lowered:
            found = found[len(lowered):]
    while len(found) > 1 and found[-1] in _TITLE_TAIL:
        found = found[:-1]
    return found


def head_noun_phrase(title: str, brand: str | None = None) -> str:
    """What a title's main part ends with: its last one or two words."""
    return " ".join(_title_words(title, brand)[-2:])


def qualifier(title: str, brand: str | None, head: str) -> str | None:
    """The word just before `head`: "trail" in "Kestrel Trail Running Shoe", "drip" in
    "Crema Drip Coffee Maker" (or a model name, in "Crema Coffee Maker")."""
    found, tail = _title_words(title, brand), head.split()
    n = len(tail)
    return found[-n - 1] if n and len(found) > n and found[-n:] == tail else None


# --------------------------------------------------------------------------- one product

@dataclass(frozen=True)
class KindFacts:
    """What one listing says about its kind, before the rest of the catalog is looked at.

    `names`: candidate names of the kind (the last one or two words of a place that names
    the product), most trusted first: the title's first part, the description's first
    phrase, the type column, the title's other parts. `part_of`: the words of what the
    listing says it is made for ("fits X"), `part`: whether it says it is a part or a
    refill at all. `words`: the title's words, to recognise the product a part names."""

    category: str
    type_attr: str  # the merchant's type column, normalised ("" when none)
    names: tuple[tuple[str, ...], ...]
    part_of: tuple[str, ...]
    part: bool
    kids: bool
    adult: bool
    brand: str
    words: tuple[str, ...]
    attr_keys: tuple[str, ...]
    head: str = ""  # the last two words of the title's main part (head_noun_phrase)

    def payload(self) -> list:
        """A JSON-friendly form, kept beside the product's vector."""
        return [self.category, self.type_attr, [list(n) for n in self.names], list(self.part_of), self.part,
                self.kids, self.adult, self.brand, list(self.words), list(self.attr_keys), self.head]

    @classmethod
    def from_payload(cls, value: list) -> KindFacts:
        category, type_attr, names, part_of, part, kids, adult, brand, title_words, attr_keys, head = value[:11]
        return cls(category, type_attr, tuple(tuple(n) for n in names), tuple(part_of), bool(part), bool(kids),
                   bool(adult), brand, tuple(title_words), tuple(attr_keys), head)

    @property
    def kind_words(self) -> frozenset[str]:
        """The head nouns its title and description give it ("jar", "blender")."""
        return frozenset(n[-1] for n in self.names[:2])


def read_kind(title: str, brand: str | None, category: str, description: str = "",
              attributes: Mapping | None = None) -> KindFacts:
    """The candidate kinds of one product, and whether it is a part or a kids' version."""
    brand_words = frozenset(words(brand or ""))
    parts = [p for p in _SEGMENTS.split(title) if p and p.strip()]
    named = [_name(p, brand_words) for p in parts]
    first = next((ws for ws in named if ws), [])
    names: list[tuple[str, ...]] = [tuple(first)] if first else []
    described = _name(_first_phrase(description or ""), brand_words)
    if described:
        names.append(tuple(described))
    attributes = dict(attributes or {})
    typ = normalised(product_type(attributes))
    if typ:
        names.append(tuple(w for w in typ.split() if w not in _COLOURS)[-2:] or tuple(typ.split()[-2:]))
    names += [tuple(ws) for ws in named if ws and ws is not first]
    lowered = title.lower().replace("w/", "with ")
    targets = [w for m in _FOR_TARGET.finditer(lowered) for w in words(m.group(1))]
    audience = " ".join(str(v) for k, v in attributes.items() if str(k).strip().lower() in AUDIENCE_KEYS)
    return KindFacts(
        category=category_key(category), type_attr=typ, names=tuple(dict.fromkeys(n for n in names if n)),
        part_of=tuple(dict.fromkeys(w for w in targets if w not in _NOT_A_PRODUCT and w not in _CONNECTORS)),
        part=any(w in _PART_WORDS for w in words(title)) or bool(re.search(r"\bsold without\b", description or "",
                                                                           re.IGNORECASE)),
        kids=is_kids(title) or is_kids(audience), adult=bool(_ADULT.search(title) or _ADULT.search(audience)),
        brand=" ".join(sorted(brand_words)), words=tuple(dict.fromkeys(words(title))),
        attr_keys=tuple(sorted(str(k).strip().lower() for k in descriptive_attributes(attributes)
                               if str(k).strip().lower() not in AUDIENCE_KEYS)),
        head=head_noun_phrase(title, brand))


# --------------------------------------------------------------------------- the catalog's kind names

MIN_BRANDS = 2  # a candidate name is a kind when products of this many brands use it
TYPED_SHARE = 0.5  # the type column decides kinds in categories where at least this share of products has one
TIDY_TITLES = 0.9  # a category whose titles end in a shared head at least this often names kinds by titles
TRUSTED = 2  # names from the title's first part and the description's first phrase make a kind name


@dataclass(frozen=True)
class KindReading:
    """One product's kind as its catalog reads it: its facts, the kind name other brands
    share (`KindNames`), its merchant type when shared, and the kinds of the products it
    says it is made for ("fits Kestrel KX-2" -> the kind words of Kestrel's KX-2, "kettle")."""

    facts: KindFacts
    name: str | None = None
    shared_type: str | None = None
    made_for: frozenset[str] = frozenset()
    title_head: str | None = None  # the title's head, in a category whose titles all name their kind
    head: str = ""  # the title's head (KindNames.head)
    lone: bool = False  # its title's two-word head is its own, beside others' shared one ("ice cream maker")

    @property
    def kind_words(self) -> frozenset[str]:
        return self.facts.kind_words | frozenset((self.name or "").split()[-1:])

    @property
    def own_name(self) -> str | None:
        """Its kind's name when no other brand's products share it, but the merchant's type
        and its own title name the same thing ("Milk Frother", type "milk frother"): two
        signals agreeing on words that are a kind, where a model name ("Vortex 9") or a
        feature ("12 settings") ends the title and the type says otherwise."""
        typ, head = self.facts.type_attr.split()[-2:], self.facts.head.split()
        if self.name or self.shared_type or not typ or not head or typ[-1] != head[-1]:
            return None
        return " ".join(typ)

    def catalog_part(self) -> list:
        """What the catalog added to the facts, JSON-friendly (stored beside them in the index)."""
        return [self.name, self.shared_type, sorted(self.made_for), self.title_head, self.head, self.lone]

    @classmethod
    def from_parts(cls, facts: KindFacts, catalog_part: list) -> KindReading:
        name, shared_type, made_for, title_head, head, lone = catalog_part
        return cls(facts, name, shared_type, frozenset(made_for), title_head, head, bool(lone))


class KindNames:
    """The catalog's kind names, read from all its products' `KindFacts` at once.

    A product's kind name is its most trusted candidate that products of two brands in
    its category use too: the longest ending of it they share, up to three words
    ("espresso coffee machine", "coffee maker"), else the head word, with the word before
    it when that word begins a shared name ("trail" of "trail runner" in one brand's
    "Trail Trainers"); a name written both as one word and as two ("smartwatch", "smart
    watch") is one name.
    What a part is made for is resolved against the whole catalog: the head words of
    other products it names, and the kinds of the brand it names."""

    def __init__(self, facts: Iterable[KindFacts], parts: Callable[[], PartIndex] | None = None) -> None:
        """`facts`: every product of the categories to read (names are shared within a
        category); `parts`: what the whole catalog's products are called, to resolve what
        a part fits (built from `facts` when not given, and only when a part is read)."""
        facts = list(facts)
        if parts is None:
            parts = lambda: PartIndex(facts)  # noqa: E731
        single_words = {(f.category, w) for f in facts for n in f.names if len(n) == 1 for w in n}
        single_words |= {(f.category, w) for f in facts for w in f.words}
        self._joined_words = single_words
        # One pass for the names (two words and more), head words and types of every product.
        pairs: dict[tuple[str, str], set[str]] = {}
        heads: dict[tuple[str, str], set[str]] = {}
        types: dict[tuple[str, str], set[str]] = {}
        # A type column decides kinds in a category where most products carry one; where
        # a few do, its values are details ("glass", "wheeled") and only name candidates.
        typed: dict[str, list[int]] = {}
        for f in facts:
            category, owner = f.category, f.brand or " ".join(f.words)
            for n in f.names[:TRUSTED]:
                n = self._joined(category, n)
                heads.setdefault((category, n[-1]), set()).add(owner)
                for size in range(2, len(n) + 1):  # "coffee machine" and "espresso coffee machine"
                    pairs.setdefault((category, " ".join(n[-size:])), set()).add(owner)
            counts = typed.setdefault(category, [0, 0])
            counts[0] += bool(f.type_attr)
            counts[1] += 1
            if f.type_attr:
                types.setdefault((category, f.type_attr), set()).add(owner)
        self._pairs = {k for k, v in pairs.items() if len(v) >= MIN_BRANDS}
        # Words that begin a shared name ("trail" in "trail runner"): before another head
        # ("Trail Trainers", one brand's) they still say which kind it is.
        self._modifiers = {(c, name.split()[0]) for c, name in self._pairs}
        self._heads = {k for k, v in heads.items() if len(v) >= MIN_BRANDS}
        self.shared_types = {(c, t) for (c, t), v in types.items()
                             if len(v) >= MIN_BRANDS and typed[c][0] >= TYPED_SHARE * typed[c][1]}
        self._parts = parts
        self._title_heads(facts)
        self._cache: dict[KindFacts, KindReading] = {}

    def _title_heads(self, facts: list[KindFacts]) -> None:
        """Titles' heads, and the categories whose titles name their kind consistently.

        A title's last two words name its kind ("coffee maker", "running shoe") only when
        other items end the same way; "Glow Serum" and "Calm Serum" each stand alone, so
        there the kind is the last word, "serum". Where nearly every title of a category
        ends in a kind (a head other brands share, or the one the description names: a
        tidy catalog, "... Trail Running Shoe"), two different heads are two kinds; in a
        feed where many titles end in a model name or a feature, a head is only one
        signal among others."""
        owners: dict[tuple[str, str], set[str]] = {}
        for f in facts:
            owners.setdefault((f.category, f.head), set()).add(f.brand or " ".join(f.words))
        self._shared_heads = {k for k, v in owners.items() if len(v) >= MIN_BRANDS}
        self._pair_ends = {(c, head.rsplit(" ", 1)[1]) for c, head in self._shared_heads if " " in head}
        brands: dict[tuple[str, str], set[str]] = {}
        for f in facts:
            brands.setdefault((f.category, self.head(f)), set()).add(f.brand or " ".join(f.words))
        self._named_heads = {k for k, v in brands.items() if len(v) >= MIN_BRANDS}
        counts: dict[str, list[int]] = {}
        for f in facts:
            c = counts.setdefault(f.category, [0, 0])
            c[0] += self._names_its_kind(f)
            c[1] += 1
        self._tidy = {c for c, (named, total) in counts.items() if named >= TIDY_TITLES * total}

    def _names_its_kind(self, f: KindFacts) -> bool:
        """The title ends in a kind: one other brands' titles end in too, or the one its
        description names ("Glow Moisturizer": "A light daily moisturizer...")."""
        head = self.head(f)
        if not head:
            return False
        described = self._joined(f.category, f.names[1]) if len(f.names) > 1 else ()
        return (f.category, head) in self._named_heads or (bool(described) and described[-1] == head.split()[-1])

    def head(self, f: KindFacts) -> str:
        """The title's head: two words when other items end the same way, else the last."""
        if " " in f.head and (f.category, f.head) not in self._shared_heads:
            return f.head.rsplit(" ", 1)[1]
        return f.head

    def _joined(self, category: str, name: tuple[str, ...]) -> tuple[str, ...]:
        if len(name) >= 2 and (category, name[-2] + name[-1]) in self._joined_words:
            return (*name[:-2], name[-2] + name[-1])
        return name

    def name(self, f: KindFacts) -> str | None:
        for n in f.names:
            n = self._joined(f.category, n)
            size = next((size for size in range(len(n), 1, -1)  # the longest name other brands use too
                         if (f.category, " ".join(n[-size:])) in self._pairs), 1)
            if size == 1 and (f.category, n[-1]) not in self._heads:
                continue
            if size < len(n) and (f.category, n[-size - 1]) in self._modifiers:
                size += 1  # "trail trainer": one brand's name, but "trail" names a kind
            return " ".join(n[-size:])
        return None

    def shared_type(self, f: KindFacts) -> str | None:
        """The merchant's type, when other brands' products carry it too and most of its
        category's products have one (a real kind, not a detail)."""
        return f.type_attr if f.type_attr and (f.category, f.type_attr) in self.shared_types else None

    def made_for(self, f: KindFacts) -> frozenset[str]:
        if not f.part_of:
            return frozenset()
        if not isinstance(self._parts, PartIndex):
            self._parts = self._parts()
        return self._parts.made_for(f)

    def read(self, f: KindFacts) -> KindReading:
        found = self._cache.get(f)
        if found is None:
            head, name = self.head(f), self.name(f)
            tidy = f.category in self._tidy and self._names_its_kind(f)
            lone = name in (None, head) and " " in f.head and head != f.head and (f.category, head) in self._pair_ends
            found = self._cache[f] = KindReading(f, name, self.shared_type(f), self.made_for(f),
                                                 head if tidy else None, head, lone)
        return found


class PartIndex:
    """What the catalog's products that are not parts are called (their head words), by
    brand and by title word: what a part says it fits ("for blenders", "fits Kestrel
    KX-2", "compatible with Heritage Tilt-Head") is resolved to those kinds."""

    def __init__(self, facts: Iterable[KindFacts]) -> None:
        facts = list(facts)
        self._heads: set[str] = set()
        self._brand_kinds: dict[frozenset[str], set[str]] = {}
        # Titles by word, for the words parts name only (what the catalog's parts say they
        # fit; another's are added when first asked for): a catalog has far more words.
        self._titles: list[tuple[tuple[str, ...], frozenset[str]]] = []
        self._by_word: dict[str, list[tuple[frozenset[str], frozenset[str]]]] = {}
        for f in facts:
            if f.part_of or f.part:
                continue
            kinds = f.kind_words
            self._heads |= kinds
            if f.brand:
                self._brand_kinds.setdefault(frozenset(f.brand.split()), set()).update(kinds)
            self._titles.append((f.words, kinds))
        self._index_words({w for f in facts for w in f.part_of})
        self._brands_by_word: dict[str, list[frozenset[str]]] = {}
        for brand in self._brand_kinds:
            self._brands_by_word.setdefault(min(brand), []).append(brand)

    def _index_words(self, wanted: set[str]) -> None:
        """The titles holding each of `wanted` (not indexed before)."""
        for w in wanted:
            self._by_word[w] = []
        for title_words, kinds in self._titles:
            found = wanted.intersection(title_words)
            if found:
                title = frozenset(title_words)
                for w in found:
                    self._by_word[w].append((title, kinds))

    def made_for(self, f: KindFacts) -> frozenset[str]:
        target = set(f.part_of)
        if not target:
            return frozenset()
        if not target <= self._by_word.keys():
            self._index_words(target - self._by_word.keys())
        kinds = target & self._heads
        for word in target:
            for brand in self._brands_by_word.get(word, ()):
                if brand <= target:
                    kinds |= self._brand_kinds[brand]
        # "fits Heritage Tilt-Head": the products whose titles hold every word named.
        rarest = min(target, key=lambda w: len(self._by_word.get(w, ())))
        for title, title_kinds in self._by_word.get(rarest, ()):
            if target <= title:
                kinds |= title_kinds
        return frozenset(kinds - f.kind_words)


# --------------------------------------------------------------------------- two products

def part_of(part: KindReading, whole: KindReading) -> bool:
    """`part` says it is made for `whole`'s kind: a jar "for" blenders (or "for" a
    blender brand's model), a cartridge that "fits" a filter, covers "for" pillows."""
    return bool(part.made_for & whole.kind_words) and not part.kind_words & whole.kind_words


def confusable(a: KindReading, b: KindReading) -> bool:
    """Never a substitute for each other: one is made for the other, or a kids' version
    meets one marked for adults."""
    fa, fb = a.facts, b.facts
    if (fa.kids and fb.adult and not fb.kids) or (fb.kids and fa.adult and not fa.kids):
        return True
    return part_of(a, b) or part_of(b, a)


# Weights of the pair score (cosine similarity of the products' embeddings, about 0.2 to
# 0.9): measured on a development feed, they are the only tuned numbers here.
ATTRIBUTE_WEIGHT = 0.3  # x (share of attribute names in common - 0.5): a kind's products share a template
SAME_NAME = 0.1  # the same kind name, or one is the other's head
OTHER_NAME = 0.2  # two different kind names
AUDIENCE_WEIGHT = 0.3  # a kids' version and one that is not
PARTS_FOR_OTHERS = 0.3  # two parts made for different kinds of product (a jar for blenders, a bowl for mixers)
NEVER = -10.0  # one is a part for the other, or their merchant types differ
SAME_TYPE = 1.0  # both carry the same merchant type that several brands use
KIND_THRESHOLD = 0.35  # groups never join below this mean pair score (group_kinds)
# A join of two groups is undone when their mean pair score is this much below how alike
# each group's own products are, and each holds at least MIN_KIND_SIZE products (_Tree.cut).
KIND_MARGIN = 0.05
MIN_KIND_SIZE = 3


def pair_score(similarity: float, a: KindReading, b: KindReading) -> float:
    """How much two products of one category look like the same kind of product."""
    if a.shared_type and b.shared_type:
        return SAME_TYPE if a.shared_type == b.shared_type else NEVER
    if confusable(a, b) or (a.title_head and b.title_head and a.title_head != b.title_head):
        return NEVER
    score = similarity
    if a.facts.attr_keys and b.facts.attr_keys:
        ka, kb = set(a.facts.attr_keys), set(b.facts.attr_keys)
        score += ATTRIBUTE_WEIGHT * (len(ka & kb) / len(ka | kb) - 0.5)
    name_a, name_b = a.name or a.own_name, b.name or b.own_name
    if _lone_among(a, b) or _lone_among(b, a):
        score -= OTHER_NAME
    elif name_a and name_b:
        score += SAME_NAME if related_names(name_a, name_b) else -OTHER_NAME
    if a.made_for and b.made_for and not a.made_for & b.made_for:
        score -= PARTS_FOR_OTHERS
    if a.facts.kids != b.facts.kids:
        score -= AUDIENCE_WEIGHT
    return score


def _lone_among(a: KindReading, b: KindReading) -> bool:
    """`a`'s title ends in two words of its own whose last is the end of `b`'s shared
    two-word head: an "Ice Cream Maker" beside "... Coffee Maker"s."""
    return a.lone and " " in b.head and b.head.rsplit(" ", 1)[1] == a.head and b.head != a.facts.head


def related_names(a: str, b: str) -> bool:
    """The same kind name, or one ends the other: "blender" and "countertop blender",
    "coffee machine" and "espresso coffee machine" (but "rice cooker" and "slow cooker",
    or "espresso coffee machine" and "drip coffee machine", are two kinds)."""
    short, long = sorted((a.split(), b.split()), key=len)
    return long[len(long) - len(short):] == short


def group_kinds(ids: list[int], scores: Mapping[tuple[int, int], float], missing: float | None = 0.0,
                threshold: float = KIND_THRESHOLD, margin: float = KIND_MARGIN,
                min_kind: int = MIN_KIND_SIZE) -> dict[int, int]:
    """Average-linkage clustering, cut where the category's own scores say: {id: group},
    a group being the smallest id in it.

    `scores` holds pair scores for pairs (i, j) with i < j that were looked at (each
    product's nearest neighbours and every pair that must never join); a pair not
    looked at counts as `missing` (None: the mean is over the pairs looked at, for a
    large category where only each product's nearest neighbours are). Groups join, best
    pair of groups first, while the mean score over all their pairs is at least
    `threshold`: that tree of joins is then read from the top down (`_cut`), so how
    alike one kind's products are is measured in each category rather than fixed."""
    members = {i: [i] for i in ids}
    links: dict[int, dict[int, float]] = {i: {} for i in ids}  # group -> other group -> sum of looked-at scores
    counts: dict[int, dict[int, int]] = {i: {} for i in ids}
    for (i, j), s in scores.items():
        if i in links and j in links and i != j:
            links[i][j] = links[i].get(j, 0.0) + s
            links[j][i] = links[j].get(i, 0.0) + s
            counts[i][j] = counts[i].get(j, 0) + 1
            counts[j][i] = counts[j].get(i, 0) + 1
    tree = _Tree(ids)

    def mean(a: int, b: int) -> float:
        if missing is None:
            return links[a][b] / counts[a][b]
        n = len(members[a]) * len(members[b])
        return (links[a][b] + missing * (n - counts[a][b])) / n

    heap = [(-mean(a, b), a, b) for a in links for b in links[a] if a < b]
    heapq.heapify(heap)
    alive = set(ids)
    while heap:
        neg, a, b = heapq.heappop(heap)
        if a not in alive or b not in alive or b not in links[a] or abs(-neg - mean(a, b)) > 1e-9:
            continue
        if -neg < threshold:
            break
        keep, gone = min(a, b), max(a, b)
        looked, pairs = counts[keep][gone], len(members[keep]) * len(members[gone])
        if missing is None:
            tree.join(keep, gone, -neg, links[keep][gone], looked)
        else:
            tree.join(keep, gone, -neg, links[keep][gone] + missing * (pairs - looked), pairs)
        alive.discard(gone)
        for other, total in links.pop(gone).items():
            n = counts[gone][other]
            links[other].pop(gone, None)
            counts[other].pop(gone, None)
            if other == keep:
                continue
            links[keep][other] = links[keep].get(other, 0.0) + total
            links[other][keep] = links[keep][other]
            counts[keep][other] = counts[keep].get(other, 0) + n
            counts[other][keep] = counts[keep][other]
        counts.pop(gone)
        members[keep] += members.pop(gone)
        for other in links[keep]:
            heapq.heappush(heap, (-mean(keep, other), min(keep, other), max(keep, other)))
    return tree.cut(alive, margin, min_kind)


class _Tree:
    """The joins of `group_kinds`, kept so the tree can be cut afterwards.

    A node is a product (its id, a leaf) or a join (-1 - its index). Each group carries
    the sum and count of the pair scores inside it, so how alike its products are (its
    cohesion: their mean) costs nothing more than the joins themselves."""

    def __init__(self, ids: Iterable[int]) -> None:
        self.node = {i: i for i in ids}  # group -> its node
        self.inside = {i: (0.0, 0) for i in ids}  # group -> (sum, count) of its pair scores
        self.size = {i: 1 for i in ids}
        # a join: (left node, right node, their mean pair score, cohesion of left, of right, smaller size)
        self.joins: list[tuple[int, int, float, float | None, float | None, int]] = []

    def join(self, keep: int, gone: int, height: float, link_sum: float, link_count: int) -> None:
        (sa, na), (sb, nb) = self.inside[keep], self.inside.pop(gone)
        self.joins.append((self.node[keep], self.node.pop(gone), height, sa / na if na else None,
                           sb / nb if nb else None, min(self.size[keep], self.size[gone])))
        self.inside[keep] = (sa + sb + link_sum, na + nb + link_count)
        self.size[keep] += self.size.pop(gone)
        self.node[keep] = -len(self.joins)

    def cut(self, roots: Iterable[int], margin: float, min_kind: int) -> dict[int, int]:
        """{id: group}: from the top of each tree, a join is undone when both its sides
        hold at least `min_kind` products and the mean score between them is more than
        `margin` below how alike the products within each side are (the less cohesive
        side's mean), then its sides are looked at the same way; a join that holds keeps
        everything under it together. Kinds of one category differ by more than products
        of one kind do, whatever the category's usual similarity (close in a category of
        socks, far apart in one of headphones); a category of one kind has no join that
        stands out, and an outlier or a pair of near-duplicates is never cut off alone."""
        out: dict[int, int] = {}
        for root in roots:
            todo = [self.node[root]]
            while todo:
                node = todo.pop()
                if node < 0:
                    left, right, height, a, b, smaller = self.joins[-1 - node]
                    if smaller >= min_kind and a is not None and b is not None and height < min(a, b) - margin:
                        todo += [left, right]
                        continue
                group = self._leaves(node)
                first = min(group)
                out.update((i, first) for i in group)
        return out

    def _leaves(self, node: int) -> list[int]:
        found, todo = [], [node]
        while todo:
            node = todo.pop()
            if node >= 0:
                found.append(node)
            else:
                todo += self.joins[-1 - node][:2]
        return found
