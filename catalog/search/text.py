"""Turning a chat message, or a product title, into words that can be compared.

Feeds and shoppers write one product many ways: "KX-200", "kx200" and "kx 200"; "12 in",
'12"' and "12 inch"; "3-Pack", "3pk" and "pack of 3"; "VELMORA" and
"velmora"; "Crème" and "creme"; trainers and sneakers; a name split by pipes, dashes
and commas; emoji and chat around it. `words` rewrites any of them into the same tokens,
so the matcher compares like with like. It knows no merchant's names: only how product
text is written in general (shopping_words has the general synonym table).
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

from catalog.search.shopping_words import COUNT_WORDS, FOR_WORDS, SPELLINGS, SYNONYMS, UNITS

# Words that frame a stock question but say nothing about which product is meant.
FRAME_WORDS = frozenset("""
a an the any some this that these those it its it's one ones thing things item items product products
do does did you u ya have has had got get gets getting is are was were be been will would could can
i im i'm me my we our us your you're please pls plz thanks thank hi hello hey there
in on at of for with to from and or but so if still yet now currently again right today
stock stocked instock available availability avail back restock restocked restocking
when whens when's what whats what's how hows how's much many long soon any left sell sells selling sold out
is there are there anything something looking look find search want wanna need buy order ordering
know tell check see show wondering wonder about like size sized colour color variant model version
come comes coming arrive arrives arriving expected expect eta date day days week weeks
shop store site website yours carry carries
ur thx ty ok okay just really also maybe perhaps btw hiya gotta lemme w wo
pre-order pre-orders preorder preorders pre-ordered preordered reserve reserving reservation backorder backorders
back-order instead i'd id i'll ill i've ive we'd we'll you'd he'd she'd they'd
""".split())

SKU_TOKEN = re.compile(r"\b[A-Za-z0-9][A-Za-z0-9_\-./]{1,63}\b")


def normalize(text: str) -> str:
    text = fold(text)
    text = re.sub(r"[^\w\s\-'&]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def product_query(text: str, drop: tuple[str, ...] = ()) -> str:
    """What is left of a message once the question framing (and given words) are removed."""
    dropped = {d.lower() for d in drop if d}
    words = [w.strip("'-") for w in normalize(text).split()]
    kept = [
        w for w in words
        if w and w not in FRAME_WORDS and w not in dropped
        and (not w.isdigit() or len(w) > 3)  # "42" is a size; "5000" may be a model number
    ]
    return " ".join(kept)


def sku_candidates(text: str) -> list[str]:
    """Tokens that could be SKUs: they contain a digit (or a dash) and are not plain words."""
    return [t for t in SKU_TOKEN.findall(text) if any(c.isdigit() for c in t) or "-" in t]


# --- folding: one spelling for the same characters -------------------------------------

_PUNCTUATION = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201b": "'", "\u2032": "'", "\u201c": '"', "\u201d": '"', "\u2033": '"',
    "\u2013": " - ", "\u2014": " - ", "\u2012": " - ", "\u2015": " - ", "\u2212": "-", "\u00d7": "x",
    "\u00b0": " ", "\u2122": " ", "\u00ae": " ", "\u00a9": " ",
})


def fold(text: str) -> str:
    """Lower case, accents off ("Crème" -> "creme"), typographic dashes and quotes made
    plain, and emoji and other symbols removed."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKD", text.translate(_PUNCTUATION))
    out = []
    for ch in text:
        if unicodedata.combining(ch):
            continue
        if ch.isascii() or ch.isalnum() or ch.isspace():
            out.append(ch)
        else:
            out.append(" ")  # emoji, pictographs, other symbols
    return "".join(out).lower()


# --- synonyms, units, counts ------------------------------------------------------------

def _phrase_pattern(phrases: list[str]) -> re.Pattern[str]:
    alternatives = sorted(phrases, key=len, reverse=True)
    body = "|".join(r"[\s\-]+".join(re.escape(w) for w in p.split()) for p in alternatives)
    return re.compile(rf"(?<![a-z0-9])(?:{body})(?![a-z0-9])")


_CANONICAL = {other: canonical for canonical, others in SYNONYMS.items() for other in others}
_CANONICAL.update({canonical: canonical for canonical in SYNONYMS})  # "extension cord" stays itself
_SYNONYM_RE = _phrase_pattern(list(_CANONICAL))

_REWRITES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(\d),(\d{3})(?!\d)"), r"\1\2"),  # 2,400 -> 2400
    (re.compile(r"\bw/o\b"), " without "),
    (re.compile(r"\bw/"), " with "),
    (re.compile(r"(?<=[a-z])'s\b"), ""),  # men's -> men
    (re.compile(r"\bfl\.?\s*oz\b"), "oz"),
    (re.compile(r"(\d+)\s*-?\s*in\s*-?\s*(\d+)(?![\d.])"), r" \1in\2 "),  # 3-in-1
    (re.compile(r"(\d)\s*(?:\"|''|inch(?:es)?\b)"), r"\1 inch "),  # 12" / 12 inches
    (re.compile(r"(\d)\s*in\b(?=\s*(?:$|[,.;:!?|)(/\-]))"), r"\1 inch "),  # "20 in," (not "40 in stock")
    (re.compile(r"(\d)\s*'(?![a-z])"), r"\1 ft "),  # 25'
    (re.compile(r"\b(?:pack|set|box|case|bundle|bag|pair)s?\s+of\s+(\d+)\b"), r" \1 pack "),  # pack of 3
    (re.compile(r"\b(\d+)(?:st|nd|rd|th)?\s*gen(?:eration)?\b"), r" gen \1 "),  # 2nd gen -> gen 2
    (re.compile(r"\bgeneration\s+(\d+)\b"), r" gen \1 "),
    (re.compile(r"\b(?:mark|mk)\s*(ii|iii|\d+)\b"), r" mk \1 "),  # Mark II -> mk 2 (below)
    (re.compile(r"(?<=[a-z0-9 ])\b(ii|iii)\b"), lambda m: " 2 " if m.group(1) == "ii" else " 3 "),  # Pro II -> pro 2
    (re.compile(r"(?<=[a-z0-9])\+(?=\s|$|[,;|)])"), " plus "),  # Vortex 9+ -> vortex 9 plus
]


def rewrite(text: str) -> str:
    """Folded text with synonyms made one word and units, counts and "3-in-1" written one way."""
    text = _SYNONYM_RE.sub(lambda m: _CANONICAL[re.sub(r"[\s\-]+", " ", m.group(0))], fold(text))
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    return text


def stem(word: str) -> str:
    """A plural's singular, as far as product words need: cups, batteries, boxes, glasses."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    if word.endswith(("ss", "us", "is", "ous")):
        return word
    if word.endswith("s"):
        return word[:-1]
    return word


def root(word: str) -> str | None:
    """The word a maker's or doer's name shares with its -ing form: runner and running ->
    "run", charger and charging -> "charg". None when there is no such ending."""
    if len(word) < 6 or not word.isalpha():
        return None
    for ending in ("ing", "er", "ed"):
        if word.endswith(ending):
            base = word[:-len(ending)]
            if len(base) >= 4 and base[-1] == base[-2] and base[-1] not in "aeiousl":
                base = base[:-1]  # runn -> run
            return base if len(base) >= 3 else None
    return None


# --- tokens ----------------------------------------------------------------------------

_PIECE = re.compile(r"\d+(?:\.\d+)?|[a-z]+")
_RAW_WORD = re.compile(r"[a-z0-9]+(?:[.\-][a-z0-9]+)*")
_UNIT_VALUES = frozenset(UNITS.values()) | {"inch"}
_COUNTS = frozenset(COUNT_WORDS.values())
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


class Token(NamedTuple):
    text: str
    optional: bool = False  # a bare small number: maybe a size or a quantity, not the name
    joined: bool = False  # written-together form of neighbouring pieces ("kx200")
    root: bool = False  # the word without its -er/-ing/-ed ending ("run" of "runner")


def _piece(p: str, after_number: bool) -> str:
    if after_number and p in UNITS:
        return UNITS[p]
    if p in COUNT_WORDS:
        return COUNT_WORDS[p]
    return stem(SPELLINGS.get(p, p))


def _word_pieces(raw: str, after_number: bool) -> list[str]:
    """One written word ("KX-200", "16oz", "2.5qt", "non-stick") -> its pieces."""
    pieces = [p for part in raw.split("-") for p in _PIECE.findall(part)]
    out: list[str] = []
    for i, p in enumerate(pieces):
        out.append(_piece(p, (out[-1][0].isdigit() if i else after_number)))
    return out


def _joined(previous: str, word: str, following: str | None) -> str | None:
    """Two neighbouring words that others write as one: "kx 200" -> "kx200", "5 lb" -> "5lb",
    "3 pack" -> "3pack". A number followed by a unit measures something ("soap 12 count"):
    it is not part of a model name."""
    if _NUMBER.fullmatch(previous) and word in _UNIT_VALUES:
        return previous + word
    if _NUMBER.fullmatch(previous) and word in _COUNTS:
        return previous + "pack"
    if (previous.isalpha() and previous not in _UNIT_VALUES and _NUMBER.fullmatch(word)
            and following not in _UNIT_VALUES and following not in _COUNTS):
        return previous + word
    return None


def words(text: str, frame: bool = False) -> list[Token]:
    """Comparable tokens of a title or message, in order; `frame` drops question framing.

    Each written word gives its pieces ("kx-200" -> "kx", "200") and, when it has several,
    the pieces joined ("kx200"); neighbouring words that are often written together give
    their joined form too ("kx 200" -> "kx200", "16 oz" -> "16oz"). So every way of writing
    a model number or a size shares a token with every other."""
    return list(_words(text, frame))


@lru_cache(maxsize=8192)
def _words(text: str, frame: bool) -> tuple[Token, ...]:
    # Written words, each as its pieces; None where punctuation or question framing
    # separates them (nothing is joined across it).
    written: list[list[str] | None] = []
    end = 0
    text = rewrite(text)
    for m in _RAW_WORD.finditer(text):
        raw = m.group(0)
        if text[end:m.start()].strip():
            written.append(None)  # "250g (4-pack)"
        end = m.end()
        if frame and raw in FRAME_WORDS:
            written.append(None)
            continue
        previous = written[-1] if written else None
        pieces = _word_pieces(raw, bool(previous) and previous[-1][0].isdigit())
        written.append(pieces or None)
    out: list[Token] = []
    for i, pieces in enumerate(written):
        if not pieces:
            continue
        before = written[i - 1] if i else None
        after = written[i + 1] if i + 1 < len(written) else None
        if before:
            following = pieces[1] if len(pieces) > 1 else after[0] if after else None
            joined = _joined(before[-1], pieces[0], following)
            if joined:
                out.append(Token(joined, joined=True))
        first = pieces[0]
        small_number = len(pieces) == 1 and first[0].isdigit() and len(first.partition(".")[0]) <= 2
        out.extend([Token(p, small_number) for p in pieces])
        out.extend([Token(r, joined=True, root=True) for r in map(root, pieces) if r])
        later = written[i + 2] if i + 2 < len(written) else None
        if (len(pieces) == 1 and _NUMBER.fullmatch(first) and after and later and len(after) == 1
                and after[0].isalpha() and later[0] in _COUNTS):
            out.append(Token(first + "pack", joined=True))  # "24 coffee pods"
        if len(pieces) > 1 and len("".join(pieces)) <= 24:
            number_count = len(pieces) == 2 and _NUMBER.fullmatch(pieces[0]) and pieces[1] in _COUNTS
            out.append(Token(pieces[0] + "pack" if number_count else "".join(pieces), joined=True))
    return tuple(out)


_FOR_RE = re.compile(r"(?<![a-z0-9])(?:" + "|".join(sorted((re.escape(f) for f in FOR_WORDS), key=len, reverse=True))
                     + r")(?![a-z0-9])")
_SEGMENT_RE = re.compile(r"\s[|/]\s|\s-\s|[|,;()\[\]]|\s\+\s")


def split_for(text: str) -> tuple[str, str]:
    """"the jar for the X" -> ("the jar", "the X"): what is wanted, and what it goes with.

    Only when something is named before the "for": in "looking for an X" the X is wanted."""
    folded = fold(text)
    for m in _FOR_RE.finditer(folded):
        head = folded[:m.start()]
        if any(not t.optional for t in words(head, frame=True)):
            return head, folded[m.end():]
    return folded, ""


def title_parts(title: str) -> tuple[str, str]:
    """A title's own words, and the words naming what it is for: "Replacement Jar for X |
    48 oz" -> ("Replacement Jar | 48 oz", "X"). Feeds separate specs with pipes, dashes
    and commas; a "for"/"fits"/"compatible with" runs to the end of its segment."""
    head, tail = [], []
    for segment in _SEGMENT_RE.split(fold(title)):
        m = _FOR_RE.search(segment)
        if m is None:
            head.append(segment)
            continue
        head.append(segment[:m.start()])
        tail.append(segment[m.end():])
    return " , ".join(head), " , ".join(tail)
