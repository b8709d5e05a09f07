"""Substitutes as the shopper reads them (and the merchant, in `catalog substitutes`)."""
from __future__ import annotations

import datetime as dt

from catalog.domain.substitutes import Reason
from catalog.services.substitutes import Substitute
from catalog.wording.format import day, money, product_name, variant_label

MAX_BUTTON_TITLE = 60  # channels cut longer button labels (Telegram, web widgets)
NO_THANKS = {"title": "No thanks", "payload": "/deny"}
NOT_IN_CATALOG = ("Sorry, I can't find that item in our catalogue. Tell me the product's name or SKU and I'll "
                  "check whether it's in stock.")
NOT_OFFERED = ("That isn't one of the suggestions I've just made, so I haven't noted it as your choice. "
               "Here's where it stands:")
NO_PROBLEM = "No problem. Is there anything else I can check for you?"
ALERT_ME = "Alert me when it's back"
PRE_ORDER_IT = "Pre-order it"


def reason_text(r: Reason, today: dt.date) -> str:
    """"same brand, black instead of blue, 12% cheaper, 40 in stock"."""
    if r.supplier:
        parts = [f"same item from {r.supplier}"]
        if r.ships_in_days is not None:
            parts.append(f"ships in {r.ships_in_days} days")
        if r.price_change is not None and abs(r.price_change) >= 1:
            parts.append(_price(r.price_change))
        if r.supplier_qty is not None:
            parts.append(f"{r.supplier_qty} available")
        return ", ".join(parts)
    parts = []
    if r.same_item:
        parts.append("same item, another listing")
    elif r.same_brand:
        parts.append("same brand")
    elif r.brand:
        parts.append(f"by {r.brand}")
    if r.color and r.instead_of:
        parts.append(f"{r.color} instead of {' or '.join(r.instead_of)}")
    elif r.color:
        parts.append(r.color)
    if r.size:
        parts.append(f"size {r.size}")
    if r.price_change is not None:
        parts.append(_price(r.price_change))
    if r.available > 0:
        parts.append(f"{r.available} in stock")
    else:
        parts.append(f"pre-order, due around {day(r.eta, today)}" if r.eta else "pre-order, date not confirmed yet")
    return ", ".join(parts)


def _price(change: float) -> str:
    if abs(change) < 1:
        return "same price"
    return f"{abs(change):.0f}% {'cheaper' if change < 0 else 'more'}"


def offer_text(name: str, offered: list[Substitute], today: dt.date) -> str:
    return "\n".join([f"Instead of the {name}, you could get:"] + [f"- {_line(s, today)}" for s in offered])


def _line(s: Substitute, today: dt.date) -> str:
    variant = variant_label(s.color, s.size)
    name = product_name(s.title, s.brand) + (f" ({variant})" if variant else "")
    price = f", {money(s.price, s.currency)}" if s.price is not None else ""
    return f"{name}{price}: {reason_text(s.reason, today)}"


def button_title(s: Substitute) -> str:
    """Short enough for any channel: the product's title, its colour/size, the supplier note."""
    extra = ", ".join(x for x in (variant_label(s.color, s.size), "other supplier" if s.same_item else "") if x)
    suffix = f" ({extra})" if extra else ""
    room = MAX_BUTTON_TITLE - len(suffix)
    title = s.title if len(s.title) <= room else s.title[:max(room - 1, 1)].rstrip() + "…"
    return (title + suffix)[:MAX_BUTTON_TITLE]


def nothing_similar_but_in_stock(name: str) -> str:
    return f"I don't have a close alternative to the {name} right now, but the one you asked about is in stock."


def nothing_similar(name: str, can_preorder: bool) -> str:
    text = f"I don't have a similar item I can suggest instead of the {name} right now. "
    if can_preorder:
        return text + "You can pre-order it from the next delivery, or I can message you as soon as it's back in stock."
    return text + "I can message you here as soon as it's back in stock."


def same_item_note(s: Substitute, today: dt.date) -> str:
    """The wanted item itself from another supplier: repeat what the suggestion said."""
    return f" Another supplier can ship it: {reason_text(s.reason, today)}."


def declined_but_in_stock(name: str) -> str:
    return f"No problem - the {name} itself is in stock if you'd like it. Anything else I can check for you?"


def declined_offer_alert(name: str) -> str:
    return (f"No problem. I can message you here as soon as the {name} is back in stock, and hold one for you for "
            "a few hours so you can buy it.")
