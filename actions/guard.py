"""Every action answers, even when the database or a service fails."""
from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.replies import TECHNICAL_PROBLEM

log = logging.getLogger(__name__)

Run = Callable[[Any, CollectingDispatcher, Tracker, dict], Awaitable[list[dict[str, Any]]]]


def apologise_on_failure(run: Run) -> Run:
    """A failing action says sorry and offers a way forward instead of going silent."""

    @functools.wraps(run)
    async def wrapper(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        try:
            return await run(self, dispatcher, tracker, domain)
        except Exception:
            log.exception("action %s failed for conversation %s", self.name(), tracker.sender_id)
            dispatcher.messages.clear()
            dispatcher.utter_message(text=TECHNICAL_PROBLEM)
            return []

    return wrapper
