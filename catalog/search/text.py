"""Turning a chat message into a product query."""
from __future__ import annotations

import re

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
""".split())

SKU_TOKEN = re.compile(r"\b[A-Za-z0-9][A-Za-z0-9_\-./]{1,63}\b")


def normalize(text: str) -> str:
    text = text.lower()
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
