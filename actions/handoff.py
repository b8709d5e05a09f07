"""A person is asked for: a ticket the team works from, and what happens next."""
from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.base import CatalogAction
from actions.common import channel, customer_id
from catalog.domain.statuses import TicketReason
from catalog.services.handoff import conversation_key, request_handoff
from catalog.wording import conversation as says

log = logging.getLogger(__name__)


class ActionRequestHandoff(CatalogAction):
    def name(self) -> str:
        return "action_request_handoff"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        said = [e.get("text") for e in tracker.events if e.get("event") == "user" and e.get("text")][-5:]
        try:
            ticket = request_handoff(runtime.uow(), conversation_key(channel(tracker), tracker.sender_id),
                                     TicketReason.CUSTOMER_REQUEST, customer_id(tracker), "\n".join(said))
        except Exception:
            log.exception("could not open a handoff ticket for %s", tracker.sender_id)
            dispatcher.utter_message(text=says.HANDOFF_FAILED)
            return []
        dispatcher.utter_message(text=says.handoff_opened(ticket))
        return []
