"""Substitutes in the conversation: suggested as buttons when an item is out, and the
shopper's choice (or "No thanks") recorded so merchants can see which substitutes work.

The ranking lives in catalog.services.substitutes; this module turns a tracker into a
call, the result into one short message with a button per suggestion, and a button
press into a feedback row plus the stock answer for the chosen item. What was offered is
kept in slots (`substitute_for`, `offered_substitutes`), so only an offer actually made
in this conversation can be recorded as accepted or rejected: a stale or forged button
payload is answered but never counted.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.common import entity
from actions.guard import apologise_on_failure
from actions.products import ask_which, asked_about, remember
from actions.replies import day, money, product_card, product_name, stock_reply
from catalog.domain.variants import label
from catalog.search.resolver import Match
from catalog.services.stock import StockReport, check_stock
from catalog.services.substitutes import Substitute, UnknownSku, find_substitutes, record_feedback

log = logging.getLogger(__name__)

OFFER_SIZE = 3  # a chat message with more buttons than this is skimmed, not read
MAX_BUTTON_TITLE = 60  # channels cut longer button labels (Telegram, web widgets)
NO_THANKS = {"title": "No thanks", "payload": "/deny"}

# Words that frame "anything similar?" and are not part of a product's name; without
# them the resolver would look for a product called "similar" or "alternatives".
REQUEST_WORDS = tuple("""
similar alternative alternatives instead substitute substitutes substitution else other others option options
comparable equivalent replacement replace recommend recommendation suggest suggestion swap close closest next
best good cheaper different same kind sort brand brands that's which ones like
""".split())


def payload(intent: str, sku: str) -> str:
    """A button payload Rasa turns into the intent with a `sku` entity, without NLU."""
    return f"/{intent}" + json.dumps({"sku": sku})


def forget_offer() -> list[dict[str, Any]]:
    """An answer that offers nothing closes the previous offer, so a later "no" is not
    taken as turning down suggestions the shopper has scrolled past."""
    return [SlotSet("substitute_for", None), SlotSet("offered_substitutes", None)]


def offer_substitutes(dispatcher: CollectingDispatcher, report: StockReport, color: str | None = None,
                      size: str | None = None, same_item: bool = True) -> list[dict[str, Any]]:
    """Suggest up to three substitutes for the variant the report answered about.

    The wanted variant is `report.best` (the one asked for, or the most useful of those
    asked for); `color`/`size` are what the shopper asked, which every suggestion must
    match. `same_item=False` leaves out the same item from another supplier when the
    stock answer has just said so. Returns the slot events that remember the offer.
    """
    wanted = report.best.stock
    found = find_substitutes(runtime.uow(), wanted.sku, k=OFFER_SIZE + 1, color=color, size=size)
    offered = [s for s in found if same_item or not s.same_item][:OFFER_SIZE]
    name = product_name(report.product)
    if not offered:
        _say_none(dispatcher, report, name)
        return forget_offer()
    today = dt.date.today()
    dispatcher.utter_message(
        text="\n".join([f"Instead of the {name}, you could get:"] + [f"- {_line(s, today)}" for s in offered]),
        buttons=[{"title": button_title(s), "payload": payload("choose_substitute", s.sku)} for s in offered]
        + [NO_THANKS],
    )
    return [SlotSet("substitute_for", wanted.sku), SlotSet("offered_substitutes", [s.sku for s in offered])]


def _say_none(dispatcher: CollectingDispatcher, report: StockReport, name: str) -> None:
    """No suggestion: say so, and point to what the shopper can still do for this item."""
    best = report.best
    if best.stock.available > 0:
        dispatcher.utter_message(text=f"I don't have a close alternative to the {name} right now, "
                                      "but the one you asked about is in stock.")
        return
    buttons = [{"title": "Alert me when it's back", "payload": payload("subscribe_restock", best.stock.sku)}]
    text = f"I don't have a similar item I can suggest instead of the {name} right now. "
    if best.outlook.can_preorder:
        text += "You can pre-order it from the next delivery, or I can message you as soon as it's back in stock."
        buttons.insert(0, {"title": "Pre-order it", "payload": payload("request_preorder", best.stock.sku)})
    else:
        text += "I can message you here as soon as it's back in stock."
    dispatcher.utter_message(text=text, buttons=buttons)


def _full_name(s: Substitute) -> str:
    brand = s.brand or ""
    return f"{brand} {s.title}" if brand and not s.title.lower().startswith(brand.lower()) else s.title


def _reason(s: Substitute, today: dt.date) -> str:
    """The catalog's reason, with a pre-order's date said the way stock answers say dates."""
    if not s.preorder:
        return s.reason
    parts = [p for p in s.reason.split(", ") if not p.startswith(("pre-order", "due "))]
    parts.append(f"pre-order, due around {day(s.eta, today)}" if s.eta else "pre-order, date not confirmed yet")
    return ", ".join(parts)


def _line(s: Substitute, today: dt.date) -> str:
    variant = label(s.color, s.size)
    name = _full_name(s) + (f" ({variant})" if variant else "")
    price = f", {money(s.price, s.currency)}" if s.price is not None else ""
    return f"{name}{price}: {_reason(s, today)}"


def button_title(s: Substitute) -> str:
    """Short enough for any channel: the product's title, its colour/size, the supplier note."""
    extra = ", ".join(x for x in (label(s.color, s.size), "other supplier" if s.same_item else "") if x)
    suffix = f" ({extra})" if extra else ""
    room = MAX_BUTTON_TITLE - len(suffix)
    title = s.title if len(s.title) <= room else s.title[:max(room - 1, 1)].rstrip() + "…"
    return (title + suffix)[:MAX_BUTTON_TITLE]


class ActionOfferSubstitutes(Action):
    """"Anything similar?": which product is meant, like a stock question, then suggestions."""

    def name(self) -> str:
        return "action_offer_substitutes"

    @apologise_on_failure
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._offer, dispatcher, tracker)

    def _offer(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        match, color, size, variant_sku = asked_about(tracker, REQUEST_WORDS)
        if not isinstance(match, Match):
            return ask_which(dispatcher, match)
        report = check_stock(runtime.uow(), match.product, color=color, size=size, sku=variant_sku)
        if report is None:
            dispatcher.utter_message(text=f"Sorry, I can't find stock records for the {product_name(match.product)}.")
            return []
        return remember(match, color, size) + offer_substitutes(dispatcher, report, color, size)


def _offered(tracker: Tracker) -> list[str]:
    value = tracker.get_slot("offered_substitutes")
    return [str(s) for s in value] if isinstance(value, list) else []


class ActionChooseSubstitute(Action):
    """A suggestion's button: count it as accepted, then answer as for a stock question."""

    def name(self) -> str:
        return "action_choose_substitute"

    @apologise_on_failure
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._choose, dispatcher, tracker)

    def _choose(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        sku = entity(tracker, "sku")
        match = runtime.resolver().by_sku(sku) if sku else None
        if match is None or match.sku is None:
            dispatcher.utter_message(text="Sorry, I can't find that item in our catalogue. Tell me the product's "
                                          "name or SKU and I'll check whether it's in stock.")
            return []
        offered, wanted = _offered(tracker), tracker.get_slot("substitute_for")
        chosen = next((o for o in offered if o.upper() == match.sku.upper()), None)
        if chosen is None or not wanted:
            # A button from an older message, or a typed payload: answered, never counted.
            dispatcher.utter_message(text="That isn't one of the suggestions I've just made, so I haven't noted it "
                                          "as your choice. Here's where it stands:")
            return chosen_stock_answer(dispatcher, match)
        try:
            record_feedback(runtime.uow(), wanted, chosen, True, tracker.sender_id)
        except UnknownSku:  # the wanted item was deleted since the offer; the answer still helps
            log.warning("substitute feedback not recorded: %s or %s no longer exists", wanted, chosen)
        note = _same_item_note(wanted) if chosen.upper() == str(wanted).upper() else ""
        rest = [o for o in offered if o != chosen]  # a double click is not a second acceptance
        return chosen_stock_answer(dispatcher, match, note) + [SlotSet("offered_substitutes", rest or None)]


def _same_item_note(sku: str) -> str:
    """The wanted item itself, from another supplier: the stock answer may only speak of the
    usual supplier's delivery, so repeat what the suggestion said."""
    same = [s for s in find_substitutes(runtime.uow(), sku, k=1) if s.same_item]
    return f" Another supplier can ship it: {same[0].reason}." if same else ""


def chosen_stock_answer(dispatcher: CollectingDispatcher, match: Match, note: str = "") -> list[dict[str, Any]]:
    """The stock answer for one variant, remembered so "reserve it" or "pre-order it"
    refers to it; a pre-order button when pre-ordering is the only way to get it."""
    today = dt.date.today()
    report = check_stock(runtime.uow(), match.product, sku=match.sku, today=today)
    if report is None:
        dispatcher.utter_message(text=f"Sorry, I can't find stock records for the {product_name(match.product)}.")
        return []
    best = report.best
    buttons = []
    if best.stock.available <= 0 and best.outlook.can_preorder:
        buttons.append({"title": "Pre-order it", "payload": payload("request_preorder", best.stock.sku)})
    dispatcher.utter_message(text=stock_reply(report, today) + note, buttons=buttons,
                             json_message=product_card(report, today))
    return remember(match, best.stock.color, best.stock.size)


class ActionDeclineSubstitutes(Action):
    """"No thanks" right after suggestions: each one offered is counted as rejected.

    Rules send a "no" here only after an action that may have offered substitutes; when
    it did not (an in-stock answer), the "no" gets the same reply as anywhere else.
    """

    def name(self) -> str:
        return "action_decline_substitutes"

    @apologise_on_failure
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._decline, dispatcher, tracker)

    def _decline(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        offered, wanted = _offered(tracker), tracker.get_slot("substitute_for")
        if not offered or not wanted:
            dispatcher.utter_message(response="utter_anything_else")
            return []
        for sku in offered:
            try:
                record_feedback(runtime.uow(), wanted, sku, False, tracker.sender_id)
            except UnknownSku:
                log.warning("substitute feedback not recorded: %s or %s no longer exists", wanted, sku)
        match = runtime.resolver().by_sku(wanted)
        report = check_stock(runtime.uow(), match.product, sku=match.sku) if match else None
        if report is None:
            dispatcher.utter_message(text="No problem. Is there anything else I can check for you?")
        elif report.best.stock.available > 0:
            dispatcher.utter_message(text=f"No problem - the {product_name(report.product)} itself is in stock if "
                                          "you'd like it. Anything else I can check for you?")
        else:
            dispatcher.utter_message(
                text=(f"No problem. I can message you here as soon as the {product_name(report.product)} is back "
                      "in stock, and hold one for you for a few hours so you can buy it."),
                buttons=[{"title": "Alert me when it's back", "payload": payload("subscribe_restock", wanted)}])
        return forget_offer()
