"""Requests whose flows are not automated yet: said plainly, and passed to the team."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.common import channel, customer_id
from catalog.services.handoff import request_handoff

log = logging.getLogger(__name__)

# What the shopper asked for, in their terms; {product} and {order} are filled when known.
REQUESTS = {
    "subscribe_restock": "a back-in-stock alert{for_product}",
    "unsubscribe_restock": "to stop back-in-stock messages",
    "request_preorder": "a pre-order{for_product}",
    "order_status": "the status of {order}",
    "cancel_order": "to cancel {order}",
    "request_refund": "a refund{for_order}",
    "request_store_credit": "store credit{for_order}",
}


class ActionPassToTeam(Action):
    def name(self) -> str:
        return "action_pass_to_team"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name", "")
        product = tracker.get_slot("product")
        order_id = tracker.get_slot("order_id")
        what = REQUESTS.get(intent, "help with this").format(
            for_product=f" for the {product}" if product else "",
            order=f"order {order_id}" if order_id else "your order",
            for_order=f" for order {order_id}" if order_id else "",
        )
        dispatcher.utter_message(
            text=(f"I can't arrange {what} in this chat yet, so I'm passing your request to our team. "
                  "A team member will reply here, usually within one business day. "
                  "Is there anything else I can check for you, like stock or a restock date?")
        )
        return []


class ActionRequestHandoff(Action):
    """A person is asked for: open a ticket the team works from, and say what happens next."""

    def name(self) -> str:
        return "action_request_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        said = [e.get("text") for e in tracker.events if e.get("event") == "user" and e.get("text")][-5:]
        try:
            ticket = await asyncio.to_thread(
                request_handoff, runtime.uow(), f"{channel(tracker)}:{tracker.sender_id}", "customer_request",
                customer_id(tracker), "\n".join(said))
        except Exception:
            log.exception("could not open a handoff ticket for %s", tracker.sender_id)
            dispatcher.utter_message(text=("I'm sorry, I couldn't reach our team's queue just now. Please email "
                                           "support or try again in a few minutes - your messages here are kept."))
            return []
        dispatcher.utter_message(text=(f"I've asked a person from our team to take over (ticket #{ticket}). "
                                       "They'll reply right here, usually within a few hours during opening "
                                       "times. You can add details in the meantime; nothing you wrote is lost."))
        return []
