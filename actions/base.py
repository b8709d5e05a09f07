"""The base of every action that reads or changes the catalog.

Its work (`act`) runs in a worker thread, because the database, the embedding model and
the substitutes index all block, and rasa-sdk serves every conversation on one event
loop; and a failure becomes an apology with a way forward, never silence.
"""
from __future__ import annotations

import abc
import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from catalog.wording.errors import TECHNICAL_PROBLEM

log = logging.getLogger(__name__)

Events = list[dict[str, Any]]


class CatalogAction(Action, metaclass=abc.ABCMeta):
    """Abstract: rasa-sdk registers only its subclasses that implement `name` and `act`."""

    @abc.abstractmethod
    def name(self) -> str: ...

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> Events:
        try:
            return await asyncio.to_thread(self.act, dispatcher, tracker, domain)
        except Exception:
            log.exception("action %s failed for conversation %s", self.name(), tracker.sender_id)
            dispatcher.messages.clear()
            dispatcher.utter_message(text=TECHNICAL_PROBLEM)
            return []

    @abc.abstractmethod
    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> Events:
        """The action's work, in a worker thread."""
