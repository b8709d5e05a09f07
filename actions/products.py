"""Which product the shopper means, shared by stock answers, pre-orders and alerts."""
from __future__ import annotations

import json
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.common import MAX_ENTITY_CHARS, entity, intent, joined
from catalog.domain.variants import matches
from catalog.search.options import asked_options
from catalog.search.resolver import Match, Resolution
from catalog.search.text import product_query
from catalog.wording import conversation as says
from catalog.wording.format import product_name


def identify(tracker: Tracker, ignore: tuple[str, ...] = ()) -> tuple[Match | Resolution, str | None]:
    """A Match when the product is known (plus the variant SKU if one was named), else the
    Resolution to ask about. Words in this message win over the remembered product.

    `ignore`: words that frame this kind of request ("anything similar?") and would
    otherwise be searched for as a product name."""
    resolver = runtime.resolver()
    text = (tracker.latest_message.get("text") or "")[:MAX_ENTITY_CHARS]
    color, size = entity(tracker, "color"), entity(tracker, "size")
    remembered = tracker.get_slot("product_sku")
    chosen = entity(tracker, "sku")
    if chosen:
        match = resolver.by_sku(chosen)
        if match:
            # A button choice names the product; a SKU typed by the shopper names the variant.
            return match, (None if intent(tracker) == "choose_product" else match.sku)
    hint = joined(tracker, "product")
    drop = tuple(x for x in (color, size) if x) + ignore
    prefer = None
    if color or size:
        prefer = lambda p: any(matches(color, size, c, s) for c in (p.colors or (None,)) for s in (p.sizes or (None,)))  # noqa: E731
    own_words = product_query(hint or text, drop)
    if hint or own_words:
        resolution = resolver.resolve(text, hint=hint, ignore_words=ignore, prefer=prefer, options=(color, size))
        if resolution.found:
            return resolution.found, resolution.found.sku
        if resolution.matches or not remembered:
            return resolution, None
    if remembered:
        match = resolver.by_sku(remembered)
        if match:
            return Match(match.product, 1.0), None
    return Resolution(own_words, ()), None


def asked_about(tracker: Tracker, ignore: tuple[str, ...] = ()
                ) -> tuple[Match | Resolution, str | None, str | None, str | None]:
    """The product, colour, size and variant SKU a question is about.

    Shared by stock answers and substitute requests so that "anything like it?" means
    exactly what "is it in stock?" meant one turn earlier.
    """
    color, size = entity(tracker, "color"), entity(tracker, "size")
    match, variant_sku = identify(tracker, ignore)
    if not isinstance(match, Match):
        return match, None, None, None
    color, size = variant_words(match, color, size)
    remembered = tracker.get_slot("product_sku")
    previous = runtime.resolver().by_sku(remembered) if remembered else None
    if previous and previous.product.id == match.product.id and not (color or size or variant_sku):
        # "when will they be back?": the variant asked about last time
        color, size = variant_words(match, tracker.get_slot("color"), tracker.get_slot("size"))
    return match, color, size, variant_sku


def variant_words(match: Match, color: str | None, size: str | None) -> tuple[str | None, str | None]:
    """Drop a "colour" or "size" that is really part of the product's name ("Flow" Yoga Mat)
    or only describes it ("fleece lined" gloves): see catalog.search.options."""
    return asked_options(match.product, color, size)


def display_name(match: Match) -> str:
    return product_name(match.product.title, match.product.brand)


def choice_buttons(matches: list[Match] | tuple[Match, ...]) -> list[dict[str, str]]:
    """One button per product that could be meant."""
    return [{"title": display_name(m)[:60], "payload": "/choose_product" + json.dumps({"sku": m.product.variant_skus[0]})}
            for m in matches]


def ask_which(dispatcher: CollectingDispatcher, resolution: Resolution) -> list[dict[str, Any]]:
    """Several close matches: buttons. None: ask for the name or SKU."""
    if resolution.ambiguous:
        dispatcher.utter_message(text=says.ASK_WHICH_PRODUCT, buttons=choice_buttons(resolution.matches))
        return [SlotSet("candidate_skus", [m.product.variant_skus[0] for m in resolution.matches])]
    dispatcher.utter_message(text=says.not_found(resolution.query) if resolution.query else says.ASK_PRODUCT)
    return []


def remember(match: Match, color: str | None = None, size: str | None = None) -> list[dict[str, Any]]:
    return [
        SlotSet("product_sku", match.sku or match.product.variant_skus[0]),
        SlotSet("product", match.product.title),
        SlotSet("color", color),
        SlotSet("size", size),
        SlotSet("candidate_skus", None),
    ]
