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


def norm_size(value: str | None) -> str | None:
    if not value:
        return None
    v = re.sub(r"\s+", " ", value.strip().lower())
    v = re.sub(r"^(size|sz|eu|us|uk)\s*", "", v).strip()
    v = re.sub(r"\s*(eu|us|uk)$", "", v).strip()
    return _SIZE_WORDS.get(v, v)


def matches(color_wanted: str | None, size_wanted: str | None, color: str | None, size: str | None) -> bool:
    if color_wanted and norm_color(color_wanted) != norm_color(color):
        # "blue" asked, variant "navy blue": the asked word inside the name counts too
        if not (color and norm_color(color_wanted) in color.lower().split()):
            return False
    if size_wanted and norm_size(size_wanted) != norm_size(size):
        return False
    return True
