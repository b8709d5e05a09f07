"""Orders: prove the order is yours, then status, cancellation, refund or store credit.

Every call passes the proof again (order number plus email, or a trusted channel
identity linked to the order); the service checks it and rate-limits failures, so
nothing here can show or change an order on the strength of a slot alone.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import runtime
from actions.base import CatalogAction
from actions.common import answers_form, channel, email_in, entity, order_number
from catalog.clock import today
from catalog.domain.statuses import TRUSTED_IDENTITY_CHANNELS
from catalog.policy import money_settings
from catalog.services.handoff import conversation_key
from catalog.services.orders import Access, AccessDenied, OrderProof, cancel_order, check_access, order_status
from catalog.services.refunds import Method, settle_cancelled_lines
from catalog.wording import orders as says
from catalog.wording.refunds import settlement_text


def proof(tracker: Tracker, with_email: bool = True) -> OrderProof:
    ch = channel(tracker)
    trusted = ch in TRUSTED_IDENTITY_CHANNELS
    return OrderProof(
        conversation_id=conversation_key(ch, tracker.sender_id),
        order_number=str(tracker.get_slot("order_id") or ""),
        email=tracker.get_slot("email") if with_email else None,
        channel=ch if trusted else None,
        external_id=tracker.sender_id if trusted else None,
    )


def _linked_by_channel(tracker: Tracker) -> bool:
    """A Telegram user already linked to the order's customer needs no email."""
    p = proof(tracker, with_email=False)
    return bool(p.channel and p.order_number) and check_access(runtime.uow(), p) is Access.GRANTED


def _extract(tracker: Tracker, slot: str, parse: Callable[[str | None], str | None]) -> dict[str, Any]:
    """The slot's value from its entity, or from the whole message when the form has just
    asked for it (and the message is an answer, not a change of topic)."""
    found = parse(entity(tracker, slot))
    if not found and tracker.get_slot("requested_slot") == slot and answers_form(tracker):
        found = parse(tracker.latest_message.get("text"))
    return {slot: found} if found else {}


class ValidateOrderForm(FormValidationAction):
    def name(self) -> str:
        return "validate_order_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> list[str]:
        if tracker.get_slot("order_id") and not tracker.get_slot("email") and \
                await asyncio.to_thread(_linked_by_channel, tracker):
            return []
        return domain_slots

    async def extract_order_id(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> dict[str, Any]:
        return _extract(tracker, "order_id", order_number)

    async def validate_order_id(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> dict[str, Any]:
        number = order_number(str(value))
        if not number:
            dispatcher.utter_message(text=says.NOT_AN_ORDER_NUMBER)
        return {"order_id": number}

    async def extract_email(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> dict[str, Any]:
        return _extract(tracker, "email", email_in)

    async def validate_email(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> dict[str, Any]:
        email = email_in(str(value))
        if not email:
            dispatcher.utter_message(text=says.NOT_AN_EMAIL)
        if not email or not tracker.get_slot("order_id"):
            return {"email": email}
        candidate = OrderProof(**{**proof(tracker).__dict__, "email": email})
        access = await asyncio.to_thread(check_access, runtime.uow(), candidate)
        if access is Access.DENIED:
            dispatcher.utter_message(text=says.NO_MATCH)
            return {"email": None, "order_id": None}
        return {"email": email}  # granted, or rate-limited: action_handle_order explains the latter


class ActionHandleOrder(CatalogAction):
    def name(self) -> str:
        return "action_handle_order"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        try:
            return self._handle(dispatcher, tracker)
        except AccessDenied as denied:
            dispatcher.utter_message(text=says.TOO_MANY if denied.access is Access.RATE_LIMITED else says.NO_MATCH)
            return [SlotSet("order_id", None), SlotSet("email", None), SlotSet("cancel_scope", None)]

    def _handle(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        goal = tracker.get_slot("order_goal") or "status"
        p = proof(tracker)
        if goal == "cancel":
            return self._cancel(dispatcher, tracker, p)
        if goal in ("refund", "store_credit"):
            return self._settle(dispatcher, p, Method.REFUND if goal == "refund" else Method.STORE_CREDIT)
        dispatcher.utter_message(text=says.describe(order_status(runtime.uow(), p), today()))
        return []

    def _cancel(self, dispatcher: CollectingDispatcher, tracker: Tracker, p: OrderProof) -> list[dict[str, Any]]:
        status = order_status(runtime.uow(), p)
        scope = tracker.get_slot("cancel_scope")
        if not status.cancellable:
            dispatcher.utter_message(text=says.nothing_cancellable(status))
            return []
        if scope not in ("out_of_stock", "all"):
            buttons = [says.CANCEL_SCOPE_BUTTONS["out_of_stock"]] if status.waiting else []
            buttons += [says.CANCEL_SCOPE_BUTTONS["all"], says.CANCEL_SCOPE_BUTTONS["keep"]]
            dispatcher.utter_message(text=says.describe(status, today()) + says.WHAT_TO_CANCEL, buttons=buttons)
            return []
        result = cancel_order(runtime.uow(), p, only_out_of_stock=scope == "out_of_stock")
        if not result.cancelled:
            dispatcher.utter_message(text=says.NOTHING_LEFT_TO_CANCEL)
            return [SlotSet("cancel_scope", None)]
        text, buttons = says.cancelled_ask_settlement(result, status, money_settings(runtime.policies()).bonus_percent)
        dispatcher.utter_message(text=text, buttons=buttons)
        return [SlotSet("cancel_scope", None)]

    def _settle(self, dispatcher: CollectingDispatcher, p: OrderProof, method: Method) -> list[dict[str, Any]]:
        status = order_status(runtime.uow(), p)
        cancelled = sorted(line.line_id for line in status.cancelled)
        if not cancelled:
            text, buttons = says.nothing_cancelled_yet(status)
            dispatcher.utter_message(text=text, buttons=buttons)
            return []
        # The same decision about the same cancelled lines is one payment, however often it is sent.
        key = f"settle:{status.number}:{','.join(map(str, cancelled))}"
        dispatcher.utter_message(text=settlement_text(settle_cancelled_lines(runtime.uow(), p, method, key)))
        return []
