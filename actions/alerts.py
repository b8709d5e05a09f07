"""Back-in-stock alerts and the shopper's own reservations: subscribe, list, change, cancel."""
from __future__ import annotations

import json
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.base import CatalogAction
from actions.common import channel, customer_id, entity, parse_quantity, typed_text
from actions.products import ask_which, display_name, identify, remember, variant_words
from catalog.domain.statuses import ReservationStatus
from catalog.search.resolver import Match
from catalog.services import alerts, reservations
from catalog.services.reservations import Outcome, ReservationView
from catalog.services.stock import product_variants
from catalog.wording import alerts as alert_words
from catalog.wording import preorders as says


class ActionSubscribeRestock(CatalogAction):
    def name(self) -> str:
        return "action_subscribe_restock"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        match, variant_sku = identify(tracker)
        if not isinstance(match, Match):
            return ask_which(dispatcher, match)
        color = entity(tracker, "color") or tracker.get_slot("color")
        size = entity(tracker, "size") or tracker.get_slot("size")
        color, size = variant_words(match, color, size)
        if not variant_sku and (color or size):
            fitting = product_variants(runtime.uow(), match.product.id, color, size)
            variant_sku = fitting[0].sku if len(fitting) == 1 else None
        try:
            sub = alerts.subscribe(runtime.uow(), customer_id(tracker), channel(tracker), tracker.sender_id,
                                   product_id=match.product.id, sku=variant_sku)
        except alerts.AlertError as refused:
            dispatcher.utter_message(text=alert_words.PROBLEMS[refused.problem])
            return []
        dispatcher.utter_message(text=alert_words.subscribed(display_name(match), sub.sku))
        return remember(match, color, size)


class ActionUnsubscribeRestock(CatalogAction):
    def name(self) -> str:
        return "action_unsubscribe_restock"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        who = customer_id(tracker)
        subs = alerts.list_subscriptions(runtime.uow(), who)
        if not subs:
            dispatcher.utter_message(text=alert_words.NO_ALERTS)
            return []
        if entity(tracker, "product") or entity(tracker, "sku"):
            match, _ = identify(tracker)
            if isinstance(match, Match):
                subs = [s for s in subs if s.product_id == match.product.id] or subs
        stopped = [s for s in subs if alerts.unsubscribe(runtime.uow(), who, s.id)]
        dispatcher.utter_message(text=alert_words.unsubscribed([s.product_title for s in stopped]))
        return []


class ActionShowMyRequests(CatalogAction):
    def name(self) -> str:
        return "action_show_my_requests"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        who = customer_id(tracker)
        held = _active(who)
        subs = alerts.list_subscriptions(runtime.uow(), who)
        if not held and not subs:
            dispatcher.utter_message(text=says.NOTHING_WITH_US)
            return []
        lines = [says.request_line(r, _name(r.sku)) for r in held]
        lines += [says.alert_line(s.product_title, s.sku) for s in subs]
        buttons = [{"title": says.cancel_button(r), "payload": _payload("cancel", r)} for r in held]
        dispatcher.utter_message(text=says.requests_overview(lines), buttons=buttons or None)
        return []


def _active(who: int) -> list[ReservationView]:
    return [r for r in reservations.list_reservations(runtime.uow(), who) if r.status == ReservationStatus.ACTIVE]


def _name(sku: str) -> str:
    match = runtime.resolver().by_sku(sku)
    return display_name(match) if match else sku


def _payload(verb: str, r: ReservationView) -> str:
    return f"/{verb}_reservation" + json.dumps({"reservation_id": str(r.id)})


def _pick_reservation(tracker: Tracker, who: int, dispatcher: CollectingDispatcher,
                      verb: str) -> ReservationView | None:
    """The reservation meant: the id given, or the only active one; otherwise ask with buttons."""
    active = _active(who)
    wanted = entity(tracker, "reservation_id") or tracker.get_slot("reservation_id")
    if wanted:
        digits = "".join(c for c in str(wanted) if c.isdigit())
        chosen = next((r for r in active if str(r.id) == digits), None)
        if chosen is None:
            dispatcher.utter_message(text=says.NO_SUCH_RESERVATION)
        return chosen
    if len(active) == 1:
        return active[0]
    if not active:
        dispatcher.utter_message(text=says.NO_ACTIVE_RESERVATIONS)
        return None
    dispatcher.utter_message(text=says.which_reservation(verb),
                             buttons=[{"title": says.reservation_button(r, _name(r.sku)), "payload": _payload(verb, r)}
                                      for r in active])
    return None


class ActionCancelReservation(CatalogAction):
    def name(self) -> str:
        return "action_cancel_reservation"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        who = customer_id(tracker)
        chosen = _pick_reservation(tracker, who, dispatcher, "cancel")
        if chosen is not None:
            result = reservations.cancel_reservation(runtime.uow(), who, chosen.id)
            dispatcher.utter_message(text=says.cancelled(chosen, _name(chosen.sku))
                                     if result.outcome is Outcome.CANCELLED else says.result_text(result))
        return [SlotSet("reservation_id", None)]


class ActionChangeReservation(CatalogAction):
    def name(self) -> str:
        return "action_change_reservation"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        who = customer_id(tracker)
        chosen = _pick_reservation(tracker, who, dispatcher, "change")
        if chosen is None:
            return [SlotSet("reservation_id", None)]
        # A number the shopper typed, never the reservation's own number when this message names
        # it ("change #12 to 3"; a button's payload carries nothing else): after "how many?",
        # "12" is an answer even for reservation #12.
        named = entity(tracker, "reservation_id")
        quantity = parse_quantity(entity(tracker, "quantity")) or parse_quantity(
            typed_text(tracker), ignore=("".join(c for c in named if c.isdigit()),) if named else ())
        if quantity is None:
            dispatcher.utter_message(text=says.ask_new_quantity(chosen))
            return [SlotSet("reservation_id", str(chosen.id))]
        result = reservations.change_quantity(runtime.uow(), who, chosen.id, quantity)
        if result.outcome is Outcome.CHANGED and result.reservation:
            dispatcher.utter_message(text=says.changed(result.reservation))
        else:
            dispatcher.utter_message(text=says.result_text(result))
        return [SlotSet("reservation_id", None), SlotSet("quantity", None)]
