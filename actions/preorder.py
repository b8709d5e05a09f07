"""Pre-orders and backorders: a form that settles item, quantity and confirmation.

The quote shown for confirmation and the reservation itself both come from
catalog.services.reservations, which decides under a lock; what the form validated
may still lose a race, and then the shopper is told so with the alternatives.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import runtime
from actions.base import CatalogAction
from actions.common import answers_form, customer_id, entity, parse_quantity
from actions.products import choice_buttons, display_name, identify, variant_words
from catalog.clock import today
from catalog.domain.reservations import MAX_UNITS_PER_REQUEST
from catalog.domain.statuses import ReservationKind
from catalog.search.resolver import Match
from catalog.services.complements import goes_with
from catalog.services.reservations import Outcome, quote, reserve
from catalog.services.stock import product_variants
from catalog.wording import complements
from catalog.wording import preorders as says
from catalog.wording.format import variant_label

log = logging.getLogger(__name__)

FORM_SLOTS = ("preorder_sku", "preorder_kind", "quantity", "preorder_confirmed")
NOTHING = "none"  # preorder_kind when there is nothing to reserve (in stock, sold out, not allowed)
CONTEXT_SLOTS = ("product_sku", "product", "candidate_skus")  # set by extract_preorder_sku, read by the ask action


def _wanted_variants(match: Match, tracker: Tracker) -> list:
    """The product's variants that fit the colour and size asked (in this message or before)."""
    color, size = variant_words(match, entity(tracker, "color") or tracker.get_slot("color"),
                                entity(tracker, "size") or tracker.get_slot("size"))
    return product_variants(runtime.uow(), match.product.id, color, size)


def _variant_for(match: Match, tracker: Tracker, variant_sku: str | None) -> str | None:
    """The SKU to reserve: the one named, the only one, or the only one with the colour and
    size asked for; None when the shopper still has to choose (see ActionAskPreorderSku)."""
    if variant_sku:
        return variant_sku
    if len(match.product.variant_skus) == 1:
        return match.product.variant_skus[0]
    wanted = _wanted_variants(match, tracker)
    return wanted[0].sku if len(wanted) == 1 else None


def _variant_buttons(match: Match, tracker: Tracker) -> list[dict[str, str]]:
    """One button per variant that fits; out-of-stock ones first-class, since those are the
    ones worth reserving. A colour or size that fits none shows them all."""
    wanted = _wanted_variants(match, tracker) or product_variants(runtime.uow(), match.product.id)
    options = [s for s in wanted if s.available <= 0] or wanted
    return [{"title": (variant_label(s.color, s.size) or s.sku)[:60], "payload": "/inform" + json.dumps({"sku": s.sku})}
            for s in options[:10]]


class ValidatePreorderForm(FormValidationAction):
    def name(self) -> str:
        return "validate_preorder_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        """rasa_sdk returns only the form's own slots from a validation action; the item
        question also needs what the SKU extraction learned (the product, or the close
        matches), so those slots go back to Rasa as well when they changed."""
        before = {name: tracker.get_slot(name) for name in CONTEXT_SLOTS}
        events = await super().run(dispatcher, tracker, domain)
        return events + [SlotSet(name, tracker.get_slot(name)) for name in CONTEXT_SLOTS
                         if tracker.get_slot(name) != before[name]]

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> list[str]:
        if tracker.get_slot("preorder_kind") == NOTHING:
            return []  # already explained why nothing can be reserved; the form ends
        return domain_slots

    async def extract_preorder_sku(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> dict[str, Any]:
        if tracker.get_slot("preorder_sku"):
            return {}
        requested = tracker.get_slot("requested_slot")
        if requested not in (None, "preorder_sku") or (requested and not answers_form(tracker)):
            return {}
        return await asyncio.to_thread(self._find_sku, tracker)

    @staticmethod
    def _find_sku(tracker: Tracker) -> dict[str, Any]:
        """Fill the SKU when the product and variant are clear; otherwise remember what is
        known (the product, or the close matches) for action_ask_preorder_sku, which asks
        once. Asking here as well made the shopper read two questions in a row."""
        match, variant_sku = identify(tracker)
        if not isinstance(match, Match):
            return {"candidate_skus": [m.product.variant_skus[0] for m in match.matches] if match.ambiguous else None}
        sku = _variant_for(match, tracker, variant_sku)
        if sku is None:
            return {"product_sku": match.product.variant_skus[0], "candidate_skus": None}
        return {"preorder_sku": sku, "product_sku": sku, "product": match.product.title, "candidate_skus": None}

    async def validate_preorder_sku(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> dict[str, Any]:
        return await asyncio.to_thread(self._kind_for, str(value), dispatcher, tracker)

    @staticmethod
    def _kind_for(sku: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
        """Pre-order when units are incoming, backorder where allowed, otherwise say why not."""
        who, day = customer_id(tracker), today()
        first = quote(runtime.uow(), who, sku, 1, ReservationKind.PREORDER, today=day)
        if first.outcome is Outcome.CAN_RESERVE:
            return {"preorder_sku": sku, "preorder_kind": ReservationKind.PREORDER.value}
        if first.outcome is Outcome.IN_STOCK:
            dispatcher.utter_message(text=says.IN_STOCK_NO_NEED)
            return {"preorder_sku": sku, "preorder_kind": NOTHING}
        second = quote(runtime.uow(), who, sku, 1, ReservationKind.BACKORDER, today=day)
        if second.outcome is Outcome.CAN_RESERVE:
            return {"preorder_sku": sku, "preorder_kind": ReservationKind.BACKORDER.value}
        dispatcher.utter_message(text=says.result_text(first if first.outcome is not Outcome.NOT_ALLOWED else second))
        return {"preorder_sku": sku, "preorder_kind": NOTHING}

    async def extract_quantity(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "quantity" or not answers_form(tracker):
            return {}
        number = parse_quantity(entity(tracker, "quantity") or tracker.latest_message.get("text"))
        return {"quantity": str(number)} if number is not None else {}

    async def validate_quantity(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> dict[str, Any]:
        number = parse_quantity(str(value))
        if number is None or number < 1 or number > MAX_UNITS_PER_REQUEST:
            dispatcher.utter_message(text=says.ASK_QUANTITY_AGAIN)
            return {"quantity": None}
        sku, kind = tracker.get_slot("preorder_sku"), tracker.get_slot("preorder_kind")
        if not sku or kind in (None, NOTHING):
            return {"quantity": str(number)}  # checked once the item is known

        def check():
            return quote(runtime.uow(), customer_id(tracker), sku, number, ReservationKind(kind), today=today())

        result = await asyncio.to_thread(check)
        if result.outcome is Outcome.CAN_RESERVE:
            return {"quantity": str(number)}
        again = says.HOW_MANY_INSTEAD if result.outcome in (Outcome.OVER_CAP, Outcome.SOLD_OUT) else ""
        dispatcher.utter_message(text=says.result_text(result) + again)
        return {"quantity": None}


class ActionAskPreorderSku(CatalogAction):
    """The form's one question for the item: the product's variants as buttons when the
    product is known, the close matches when several products fit, else name or SKU.

    Rasa runs `action_ask_preorder_sku` instead of utter_ask_preorder_sku because the
    question depends on what validate_preorder_form found out."""

    def name(self) -> str:
        return "action_ask_preorder_sku"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        resolver = runtime.resolver()
        candidates = [m for m in (resolver.by_sku(str(s)) for s in tracker.get_slot("candidate_skus") or []) if m]
        if len(candidates) > 1:
            dispatcher.utter_message(text=says.ASK_WHICH_PRODUCT, buttons=choice_buttons(candidates))
            return []
        known = tracker.get_slot("product_sku")
        match = resolver.by_sku(known) if known else None
        if match is not None and len(match.product.variant_skus) > 1:
            product = Match(match.product, 1.0)
            dispatcher.utter_message(text=says.which_variant(display_name(product)),
                                     buttons=_variant_buttons(product, tracker))
            return []
        dispatcher.utter_message(text=says.ASK_PRODUCT)
        return []


class ActionAskPreorderConfirmed(CatalogAction):
    """The confirmation summary: price, expected date, place in line, what if the date slips."""

    def name(self) -> str:
        return "action_ask_preorder_confirmed"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        sku, kind = tracker.get_slot("preorder_sku"), ReservationKind(tracker.get_slot("preorder_kind"))
        result = quote(runtime.uow(), customer_id(tracker), sku, int(tracker.get_slot("quantity")), kind,
                       today=today())
        if result.outcome is not Outcome.CAN_RESERVE or result.summary is None:
            dispatcher.utter_message(text=says.result_text(result))
            return [SlotSet("quantity", None)]
        match = runtime.resolver().by_sku(sku)
        dispatcher.utter_message(text=says.confirmation(result.summary, display_name(match) if match else sku),
                                 buttons=says.CONFIRM_BUTTONS)
        return []


def _form_started_at(tracker: Tracker) -> float:
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name") == "preorder_form":
            return event.get("timestamp") or 0.0
    return 0.0


class ActionSubmitPreorder(CatalogAction):
    def name(self) -> str:
        return "action_submit_preorder"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        reset = [SlotSet(slot, None) for slot in FORM_SLOTS]
        kind = tracker.get_slot("preorder_kind")
        if kind in (None, NOTHING):
            return reset  # the reason was already given
        if tracker.get_slot("preorder_confirmed") is not True:
            dispatcher.utter_message(text=says.NOT_RESERVED)
            return reset
        sku, quantity = tracker.get_slot("preorder_sku"), int(tracker.get_slot("quantity"))
        # One key per confirmed form: a double-clicked "Yes" or a retried request reserves once.
        key = f"chat:{tracker.sender_id}:{_form_started_at(tracker)}:{sku}:{quantity}"
        result = reserve(runtime.uow(), customer_id(tracker), sku, quantity, ReservationKind(kind), today=today(),
                         idempotency_key=key)
        if result.outcome in (Outcome.RESERVED, Outcome.ALREADY_RESERVED) and result.reservation is not None:
            dispatcher.utter_message(text=says.reserved(quantity, result.reservation))
            line = _goes_with_line(sku, tracker)
            if line:
                dispatcher.utter_message(text=line)  # a message of its own: an extra, not part of the promise
        else:
            dispatcher.utter_message(text=says.result_text(result))
        return reset


def _goes_with_line(sku: str, tracker: Tracker) -> str | None:
    """"Goes with your ...": what a shop shows once a purchase is settled. Best effort: the
    reservation is made and said, so a failure here is logged, never an apology."""
    try:
        return complements.goes_with(goes_with(runtime.uow(), sku))
    except Exception:
        log.exception("goes-with suggestions failed for %s in conversation %s", sku, tracker.sender_id)
        return None


class ActionStopForm(Action):
    """"stop" / "never mind" inside a form: leave it, forget its answers, change nothing."""

    def name(self) -> str:
        return "action_stop_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        dispatcher.utter_message(text=says.STOPPED_FORM)
        return [ActiveLoop(None), SlotSet("requested_slot", None), *[SlotSet(s, None) for s in FORM_SLOTS],
                SlotSet("cancel_scope", None)]
