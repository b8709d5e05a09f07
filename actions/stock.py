"""Stock questions: which product is meant, and what the database says about it now."""
from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.common import entity
from actions.guard import apologise_on_failure
from actions.products import ask_which, identify, remember, variant_words
from actions.replies import product_name, stock_reply
from catalog.search.resolver import Match
from catalog.services.stock import check_stock


class ActionAnswerStock(Action):
    def name(self) -> str:
        return "action_answer_stock"

    @apologise_on_failure
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._answer, dispatcher, tracker)

    def _answer(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        color, size = entity(tracker, "color"), entity(tracker, "size")
        match, variant_sku = identify(tracker)
        if not isinstance(match, Match):
            return ask_which(dispatcher, match)
        color, size = variant_words(match, color, size)
        remembered = tracker.get_slot("product_sku")
        previous = runtime.resolver().by_sku(remembered) if remembered else None
        if previous and previous.product.id == match.product.id and not (color or size or variant_sku):
            # "when will they be back?": the variant asked about last time
            color, size = variant_words(match, tracker.get_slot("color"), tracker.get_slot("size"))
        today = dt.date.today()
        report = check_stock(runtime.uow(), match.product, color=color, size=size, sku=variant_sku, today=today)
        if report is None:
            dispatcher.utter_message(text=f"Sorry, I can't find stock records for the {product_name(match.product)}.")
            return []
        dispatcher.utter_message(text=stock_reply(report, today, asking_date=intent == "ask_restock_date"))
        return remember(match, color, size)
