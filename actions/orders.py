"""Orders: prove the order is yours, then status, cancellation, refund or store credit.

Every call passes the proof again (order number plus email, or a trusted channel
identity linked to the order); the service checks it and rate-limits failures, so
nothing here can show or change an order on the strength of a slot alone.
"""
from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import runtime
from actions.common import TRUSTED_IDENTITY_CHANNELS, answers_form, channel, email_in, entity, order_number
from actions.guard import apologise_on_failure
from actions.replies import day, money
from catalog.services.orders import (
    Access,
    AccessDenied,
    OrderProof,
    OrderStatus,
    cancel_order,
    check_access,
    order_status,
)
from catalog.services.refunds import Method, settle_cancelled_lines

LINE_STATUS = {"shipped": "shipped", "packed": "packed, ships soon", "pending": "being prepared",
               "cancelled": "cancelled"}
TOO_MANY = ("For your security I can't look up orders from this chat for the next 15 minutes after several "
            "unsuccessful tries. Please try again later, or say \"talk to a person\".")
NO_MATCH = ("I couldn't match that order number with that email address. Please check both - "
            "they're in your order confirmation email.")


def proof(tracker: Tracker, with_email: bool = True) -> OrderProof:
    ch = channel(tracker)
    trusted = ch in TRUSTED_IDENTITY_CHANNELS
    return OrderProof(
        conversation_id=f"{ch}:{tracker.sender_id}",
        order_number=str(tracker.get_slot("order_id") or ""),
        email=tracker.get_slot("email") if with_email else None,
        channel=ch if trusted else None,
        external_id=tracker.sender_id if trusted else None,
    )


def _linked_by_channel(tracker: Tracker) -> bool:
    """A Telegram user already linked to the order's customer needs no email."""
    p = proof(tracker, with_email=False)
    return bool(p.channel and p.order_number) and check_access(runtime.uow(), p) is Access.GRANTED


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
        found = order_number(entity(tracker, "order_id"))
        if not found and tracker.get_slot("requested_slot") == "order_id" and answers_form(tracker):
            found = order_number(tracker.latest_message.get("text"))
        return {"order_id": found} if found else {}

    async def validate_order_id(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> dict[str, Any]:
        number = order_number(str(value))
        if not number:
            dispatcher.utter_message(text="That doesn't look like an order number - it's the number in your "
                                          "order confirmation, like 100234.")
            return {"order_id": None}
        return {"order_id": number}

    async def extract_email(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> dict[str, Any]:
        found = email_in(entity(tracker, "email"))
        if not found and tracker.get_slot("requested_slot") == "email" and answers_form(tracker):
            found = email_in(tracker.latest_message.get("text"))
        return {"email": found} if found else {}

    async def validate_email(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> dict[str, Any]:
        email = email_in(str(value))
        if not email:
            dispatcher.utter_message(text="That doesn't look like an email address. Which email did you order with?")
            return {"email": None}
        if not tracker.get_slot("order_id"):
            return {"email": email}
        candidate = OrderProof(**{**proof(tracker).__dict__, "email": email})
        access = await asyncio.to_thread(check_access, runtime.uow(), candidate)
        if access is Access.DENIED:
            dispatcher.utter_message(text=NO_MATCH)
            return {"email": None, "order_id": None}
        return {"email": email}  # granted, or rate-limited: action_handle_order explains the latter


class ActionHandleOrder(Action):
    def name(self) -> str:
        return "action_handle_order"

    @apologise_on_failure
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        try:
            return await asyncio.to_thread(self._handle, dispatcher, tracker)
        except AccessDenied as denied:
            if denied.access is Access.RATE_LIMITED:
                dispatcher.utter_message(text=TOO_MANY)
            else:
                dispatcher.utter_message(text=NO_MATCH)
            return [SlotSet("order_id", None), SlotSet("email", None), SlotSet("cancel_scope", None)]

    def _handle(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        goal = tracker.get_slot("order_goal") or "status"
        p = proof(tracker)
        if goal == "cancel":
            return self._cancel(dispatcher, tracker, p)
        if goal in ("refund", "store_credit"):
            return self._settle(dispatcher, p, Method.REFUND if goal == "refund" else Method.STORE_CREDIT)
        dispatcher.utter_message(text=describe(order_status(runtime.uow(), p)))
        return []

    def _cancel(self, dispatcher: CollectingDispatcher, tracker: Tracker, p: OrderProof) -> list[dict[str, Any]]:
        status = order_status(runtime.uow(), p)
        waiting = [line for line in status.lines if line.status == "waiting_stock"]
        open_lines = [line for line in status.lines if line.status in ("pending", "packed", "waiting_stock")]
        scope = tracker.get_slot("cancel_scope")
        if not open_lines:
            dispatcher.utter_message(text=f"Nothing on order {status.number} can be cancelled any more: "
                                          "everything has shipped or was cancelled already.")
            return []
        if scope not in ("out_of_stock", "all"):
            buttons = []
            if waiting:
                buttons.append({"title": "Only the out-of-stock items",
                                "payload": '/cancel_order{"cancel_scope": "out_of_stock"}'})
            buttons.append({"title": "The whole order", "payload": '/cancel_order{"cancel_scope": "all"}'})
            buttons.append({"title": "Keep my order", "payload": "/deny"})
            dispatcher.utter_message(text=describe(status) + " What would you like to cancel?", buttons=buttons)
            return []
        result = cancel_order(runtime.uow(), p, only_out_of_stock=scope == "out_of_stock")
        if not result.cancelled:
            dispatcher.utter_message(text="There was nothing left to cancel on that order.")
            return [SlotSet("cancel_scope", None)]
        names = ", ".join(f"{line.quantity} x {line.sku}" for line in result.cancelled)
        policies = runtime.policies().get()
        bonus = policies.store_credit_bonus_percent if policies else 10
        dispatcher.utter_message(
            text=(f"Done - I've cancelled {names} from order {status.number} "
                  f"({money(result.amount, status.currency)}). Would you like the money back to your original "
                  f"payment, or store credit worth {bonus}% more?"),
            buttons=[{"title": "Refund to my payment", "payload": "/request_refund"},
                     {"title": f"Store credit (+{bonus}%)", "payload": "/request_store_credit"}],
        )
        return [SlotSet("cancel_scope", None)]

    def _settle(self, dispatcher: CollectingDispatcher, p: OrderProof, method: Method) -> list[dict[str, Any]]:
        status = order_status(runtime.uow(), p)
        cancelled = sorted(line.line_id for line in status.lines if line.status == "cancelled")
        if not cancelled:
            dispatcher.utter_message(
                text=(f"Nothing on order {status.number} is cancelled yet, so there's nothing to refund. "
                      "Would you like to cancel the items that are out of stock?"),
                buttons=[{"title": "Cancel out-of-stock items", "payload": '/cancel_order{"cancel_scope": "out_of_stock"}'}])
            return []
        # The same decision about the same cancelled lines is one payment, however often it is sent.
        key = f"settle:{status.number}:{','.join(map(str, cancelled))}"
        result = settle_cancelled_lines(runtime.uow(), p, method, key)
        dispatcher.utter_message(text=result.message)
        return []


def describe(status: OrderStatus, today: dt.date | None = None) -> str:
    today = today or dt.date.today()
    parts = []
    for line in status.lines:
        if line.status == "waiting_stock":
            state = f"waiting for stock, expected around {day(line.expected, today)}" if line.expected \
                else "waiting for stock, no date yet"
        else:
            state = LINE_STATUS.get(line.status, line.status)
        parts.append(f"{line.quantity} x {line.sku}: {state}")
    return f"Order {status.number}: " + "; ".join(parts) + "."
