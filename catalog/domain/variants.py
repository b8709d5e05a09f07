"""Matching what a shopper says ("grey", "size M", "EU 42") to variant attributes."""
from __future__ import annotations

import re

_COLOR_SYNONYMS = {"grey": "gray", "navy blue": "navy", "charcoal": "gray", "off white": "white", "off-white": "white"}
_SIZE_WORDS = {
    "extra small": "xs", "x-small": "xs", "xsmall": "xs", "small": "s", "medium": "m", "med": "m",
    "large": "l", "extra large": "xl", "x-large": "xl", "xlarge": "xl", "xxl": "2xl", "xx-large": "2xl",
    "2x": "2xl", "3x": "3xl",
}


def norm_color(value: str | None) -> str | None:
    if not value:
        return None
    v = re.sub(r"\s+", " ", value.strip().lower())
    return _COLOR_SYNONYMS.get(v, v)


# Words around a size that do not change it: "boys 6/7", "a 2", "for women M".
_SIZE_PREFIX = re.compile(r"^(?:(?:a|an|the|in|for|boys?|girls?|mens?|women|womens?|kids?|toddlers?|youth|"
                          r"unisex|adults?|baby|infants?)\s+)+")
_NUMBER = r"\d+(?:\.\d+)?"
_RANGE = re.compile(rf"({_NUMBER})\s*[a-z]*\s*[-/]\s*({_NUMBER})\s*[a-z]*")


def norm_size(value: str | None) -> str | None:
    if not value:
        return None
    v = re.sub(r"\s+", " ", value.strip().lower())
    v = _SIZE_PREFIX.sub("", v)
    v = re.sub(r"^(size|sz|eu|us|uk)\s*", "", v).strip()
    v = re.sub(r"\s*(eu|us|uk)$", "", v).strip()
    v = re.sub(r"(\d)\s+(?=[a-z])", r"\1", v)  # "1.7 oz" -> "1.7oz"
    return _SIZE_WORDS.get(v, v)


def sizes_named(text: str) -> set[str]:
    """Sizes a text spells out in words ("Extra Large 35x70" -> {"xl", "l"}), as norm_size writes them."""
    lowered = text.lower()
    return {short for name, short in _SIZE_WORDS.items() if re.search(rf"(?<![a-z]){re.escape(name)}(?![a-z])", lowered)}


def _words(value: str) -> set[str]:
    return set(re.findall(rf"{_NUMBER}|[a-z]+", value))


def size_matches(wanted: str, size: str | None) -> bool:
    """"M" is "medium"; "large" is "Large 36x27 in"; "2" fits "2T-3T" and "6" fits "6/7"."""
    w, s = norm_size(wanted), norm_size(size)
    if w == s:
        return True
    if not s or not w:
        return False
    asked = _words(_SIZE_PREFIX.sub("", wanted.strip().lower()))
    if any(len(t) >= 3 and t.isalpha() for t in asked) and asked <= _words(size.lower()):
        return True  # a named size with its measurements spelt out
    span = _RANGE.fullmatch(s)
    return bool(span and re.fullmatch(_NUMBER, w) and float(span[1]) <= float(w) <= float(span[2]))


def matches(color_wanted: str | None, size_wanted: str | None, color: str | None, size: str | None) -> bool:
    if color_wanted and norm_color(color_wanted) != norm_color(color):
        # "blue" asked, variant "navy blue" or "Gold/Blue": the asked word inside the name counts too
        if not (color and norm_color(color_wanted) in re.split(r"[^a-z0-9]+", color.lower())):
            return False
    if size_wanted and not size_matches(size_wanted, size):
        return False
    return True
