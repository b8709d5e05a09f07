"""Back-in-stock alerts and the shopper's own reservations: subscribe, list, change, cancel."""
from __future__ import annotations

import asyncio
import json
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.common import channel, customer_id, entity, parse_quantity
from actions.guard import apologise_on_failure
from actions.products import ask_which, identify, remember, variant_words
from actions.replies import product_name
from catalog.domain.reservations import due_text
from catalog.domain.variants import matches
from catalog.search.resolver import Match
from catalog.services import alerts, reservations
from catalog.services.reservations import Outcome


class ActionSubscribeRestock(Action):
    def name(self) -> str:
        return "action_subscribe_restock"

    @apologise_on_failure
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._subscribe, dispatcher, tracker)

    def _subscribe(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        match, variant_sku = identify(tracker)
        if not isinstance(match, Match):
            return ask_which(dispatcher, match)
        color = entity(tracker, "color") or tracker.get_slot("color")
        size = entity(tracker, "size") or tracker.get_slot("size")
        color, size = variant_words(match, color, size)
        if not variant_sku and (color or size):
            with runtime.uow() as uow:
                fitting = [s.sku for s in uow.catalog.variant_stock(match.product.id) if matches(color, size, s.color, s.size)]
            variant_sku = fitting[0] if len(fitting) == 1 else None
        name = product_name(match.product)
        try:
            sub = alerts.subscribe(runtime.uow(), customer_id(tracker), channel(tracker), tracker.sender_id,
                                   product_id=match.product.id, sku=variant_sku)
        except alerts.AlertError as problem:
            dispatcher.utter_message(text=str(problem))
            return []
        which = f" ({sub.sku})" if sub.sku else ""
        dispatcher.utter_message(text=(f"Done - I'll message you here as soon as the {name}{which} is back in stock, "
                                       "and hold one for you for a few hours so you can buy it. "
                                       "Say \"stop restock alerts\" any time to cancel."))
        return remember(match, color, size)


class ActionUnsubscribeRestock(Action):
    def name(self) -> str:
        return "action_unsubscribe_restock"

    @apologise_on_failure
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._unsubscribe, dispatcher, tracker)

    def _unsubscribe(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        who = customer_id(tracker)
        subs = alerts.list_subscriptions(runtime.uow(), who)
        if not subs:
            dispatcher.utter_message(text="You have no restock alerts with us, so there's nothing to stop.")
            return []
        named = entity(tracker, "product") or entity(tracker, "sku")
        if named:
            match, _ = identify(tracker)
            if isinstance(match, Match):
                subs = [s for s in subs if s.product_id == match.product.id] or subs
        stopped = [s for s in subs if alerts.unsubscribe(runtime.uow(), who, s.id)]
        titles = ", ".join(dict.fromkeys(s.product_title for s in stopped))
        dispatcher.utter_message(text=f"Done - no more restock messages for: {titles}.")
        return []


class ActionShowMyRequests(Action):
    def name(self) -> str:
        return "action_show_my_requests"

    @apologise_on_failure
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._show, dispatcher, tracker)

    def _show(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        who = customer_id(tracker)
        held = [r for r in reservations.list_reservations(runtime.uow(), who) if r.status == "active"]
        subs = alerts.list_subscriptions(runtime.uow(), who)
        if not held and not subs:
            dispatcher.utter_message(text="You have no pre-orders, backorders or restock alerts with us right now.")
            return []
        lines, buttons = [], []
        for r in held:
            lines.append(f"#{r.id}: {r.kind.value} of {r.quantity} x {_title(r.sku)} - {r.text}")
            buttons.append({"title": f"Cancel #{r.id}",
                            "payload": "/cancel_reservation" + json.dumps({"reservation_id": str(r.id)})})
        for s in subs:
            lines.append(f"Restock alert: {s.product_title}" + (f" ({s.sku})" if s.sku else ""))
        dispatcher.utter_message(text="Here's what you have with us:\n" + "\n".join(lines), buttons=buttons or None)
        return []


def _title(sku: str) -> str:
    match = runtime.resolver().by_sku(sku)
    return product_name(match.product) if match else sku


def _pick_reservation(tracker: Tracker, who: int, dispatcher: CollectingDispatcher, verb: str):
    """The reservation meant: the id given, or the only active one; otherwise ask with buttons."""
    active = [r for r in reservations.list_reservations(runtime.uow(), who) if r.status == "active"]
    wanted = entity(tracker, "reservation_id") or tracker.get_slot("reservation_id")
    if wanted:
        digits = "".join(c for c in str(wanted) if c.isdigit())
        chosen = next((r for r in active if str(r.id) == digits), None)
        if chosen is None:
            dispatcher.utter_message(text="I can't find an active reservation with that number on your account.")
        return chosen
    if len(active) == 1:
        return active[0]
    if not active:
        dispatcher.utter_message(text="You have no active pre-orders or backorders.")
        return None
    dispatcher.utter_message(
        text=f"Which reservation would you like to {verb}?",
        buttons=[{"title": f"#{r.id}: {r.quantity} x {_title(r.sku)}",
                  "payload": f"/{verb}_reservation" + json.dumps({"reservation_id": str(r.id)})} for r in active])
    return None


class ActionCancelReservation(Action):
    def name(self) -> str:
        return "action_cancel_reservation"

    @apologise_on_failure
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._cancel, dispatcher, tracker)

    def _cancel(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        who = customer_id(tracker)
        chosen = _pick_reservation(tracker, who, dispatcher, "cancel")
        if chosen is not None:
            result = reservations.cancel_reservation(runtime.uow(), who, chosen.id)
            text = (f"Done - reservation #{chosen.id} for {_title(chosen.sku)} is cancelled."
                    if result.outcome is not Outcome.NOT_FOUND else result.message)
            dispatcher.utter_message(text=text)
        return [SlotSet("reservation_id", None)]


class ActionChangeReservation(Action):
    def name(self) -> str:
        return "action_change_reservation"

    @apologise_on_failure
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._change, dispatcher, tracker)

    def _change(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        who = customer_id(tracker)
        quantity = parse_quantity(entity(tracker, "quantity") or tracker.latest_message.get("text"))
        chosen = _pick_reservation(tracker, who, dispatcher, "change")
        if chosen is None:
            return [SlotSet("reservation_id", None)]
        if quantity is None:
            dispatcher.utter_message(text=f"How many would you like on reservation #{chosen.id} instead? "
                                          "For example: \"change it to 2\".")
            return [SlotSet("reservation_id", str(chosen.id))]
        result = reservations.change_quantity(runtime.uow(), who, chosen.id, quantity)
        if result.outcome is Outcome.RESERVED and result.reservation:
            due = f"; due around {due_text(result.reservation.expected)}" if result.reservation.expected else ""
            dispatcher.utter_message(text=f"Done - reservation #{chosen.id} is now for {quantity}{due}.")
        else:
            dispatcher.utter_message(text=result.message)
        return [SlotSet("reservation_id", None), SlotSet("quantity", None)]
