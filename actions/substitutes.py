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

import json
import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.base import CatalogAction
from actions.common import entity
from actions.products import ask_which, asked_about, display_name, remember
from catalog.clock import today
from catalog.search.resolver import Match
from catalog.services.stock import StockReport, check_stock
from catalog.services.substitutes import UnknownSku, find_substitutes, record_feedback
from catalog.wording import substitutes as says
from catalog.wording.stock import no_records, product_card, report_name, stock_reply

log = logging.getLogger(__name__)

OFFER_SIZE = 3  # a chat message with more buttons than this is skimmed, not read

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
    name = report_name(report)
    if not offered:
        _say_none(dispatcher, report, name)
        return forget_offer()
    dispatcher.utter_message(
        text=says.offer_text(name, offered, today()),
        buttons=[{"title": says.button_title(s), "payload": payload("choose_substitute", s.sku)} for s in offered]
        + [says.NO_THANKS],
    )
    return [SlotSet("substitute_for", wanted.sku), SlotSet("offered_substitutes", [s.sku for s in offered])]


def _say_none(dispatcher: CollectingDispatcher, report: StockReport, name: str) -> None:
    """No suggestion: say so, and point to what the shopper can still do for this item."""
    best = report.best
    if best.stock.available > 0:
        dispatcher.utter_message(text=says.nothing_similar_but_in_stock(name))
        return
    buttons = [{"title": says.ALERT_ME, "payload": payload("subscribe_restock", best.stock.sku)}]
    if best.outlook.can_preorder:
        buttons.insert(0, {"title": says.PRE_ORDER_IT, "payload": payload("request_preorder", best.stock.sku)})
    dispatcher.utter_message(text=says.nothing_similar(name, best.outlook.can_preorder), buttons=buttons)


class ActionOfferSubstitutes(CatalogAction):
    """"Anything similar?": which product is meant, like a stock question, then suggestions."""

    def name(self) -> str:
        return "action_offer_substitutes"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        match, color, size, variant_sku = asked_about(tracker, REQUEST_WORDS)
        if not isinstance(match, Match):
            return ask_which(dispatcher, match)
        report = check_stock(runtime.uow(), match.product, today(), color=color, size=size, sku=variant_sku)
        if report is None:
            dispatcher.utter_message(text=no_records(display_name(match)))
            return []
        return remember(match, color, size) + offer_substitutes(dispatcher, report, color, size)


def _offered(tracker: Tracker) -> list[str]:
    value = tracker.get_slot("offered_substitutes")
    return [str(s) for s in value] if isinstance(value, list) else []


class ActionChooseSubstitute(CatalogAction):
    """A suggestion's button: count it as accepted, then answer as for a stock question."""

    def name(self) -> str:
        return "action_choose_substitute"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        sku = entity(tracker, "sku")
        match = runtime.resolver().by_sku(sku) if sku else None
        if match is None or match.sku is None:
            dispatcher.utter_message(text=says.NOT_IN_CATALOG)
            return []
        offered, wanted = _offered(tracker), tracker.get_slot("substitute_for")
        chosen = next((o for o in offered if o.upper() == match.sku.upper()), None)
        if chosen is None or not wanted:
            # A button from an older message, or a typed payload: answered, never counted.
            dispatcher.utter_message(text=says.NOT_OFFERED)
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
    return says.same_item_note(same[0], today()) if same else ""


def chosen_stock_answer(dispatcher: CollectingDispatcher, match: Match, note: str = "") -> list[dict[str, Any]]:
    """The stock answer for one variant, remembered so "reserve it" or "pre-order it"
    refers to it; a pre-order button when pre-ordering is the only way to get it."""
    day = today()
    report = check_stock(runtime.uow(), match.product, day, sku=match.sku)
    if report is None:
        dispatcher.utter_message(text=no_records(display_name(match)))
        return []
    best = report.best
    buttons = []
    if best.stock.available <= 0 and best.outlook.can_preorder:
        buttons.append({"title": says.PRE_ORDER_IT, "payload": payload("request_preorder", best.stock.sku)})
    dispatcher.utter_message(text=stock_reply(report, day) + note, buttons=buttons, json_message=product_card(report, day))
    return remember(match, best.stock.color, best.stock.size)


class ActionDeclineSubstitutes(CatalogAction):
    """"No thanks" right after suggestions: each one offered is counted as rejected.

    Rules send a "no" here only after an action that may have offered substitutes; when
    it did not (an in-stock answer), the "no" gets the same reply as anywhere else.
    """

    def name(self) -> str:
        return "action_decline_substitutes"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
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
        report = check_stock(runtime.uow(), match.product, today(), sku=match.sku) if match else None
        if report is None:
            dispatcher.utter_message(text=says.NO_PROBLEM)
        elif report.best.stock.available > 0:
            dispatcher.utter_message(text=says.declined_but_in_stock(report_name(report)))
        else:
            dispatcher.utter_message(text=says.declined_offer_alert(report_name(report)),
                                     buttons=[{"title": says.ALERT_ME, "payload": payload("subscribe_restock", wanted)}])
        return forget_offer()
