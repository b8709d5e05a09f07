"""Stock questions: which product is meant, and what the database says about it now."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.guard import apologise_on_failure
from actions.replies import product_name, stock_reply
from catalog.domain.variants import matches
from catalog.search.resolver import Match, Resolution
from catalog.search.text import product_query
from catalog.services.stock import check_stock

MAX_QUERY_CHARS = 300  # a pasted essay is not a product name; the start is enough


def _entity(tracker: Tracker, name: str) -> str | None:
    values = [e.get("value") for e in tracker.latest_message.get("entities", []) if e.get("entity") == name]
    values = [str(v).strip() for v in values if v not in (None, "")]
    return values[0][:MAX_QUERY_CHARS] if values else None


class ActionAnswerStock(Action):
    def name(self) -> str:
        return "action_answer_stock"

    @apologise_on_failure
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._answer, dispatcher, tracker)

    def _answer(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        text = (tracker.latest_message.get("text") or "")[:MAX_QUERY_CHARS]
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        color, size = _entity(tracker, "color"), _entity(tracker, "size")
        remembered = tracker.get_slot("product_sku")
        match, variant_sku = self._which_product(tracker, text, intent, color, size, remembered)

        if isinstance(match, Resolution):
            return self._ask_or_give_up(dispatcher, match, remembered)
        assert isinstance(match, Match)
        same_product = remembered and runtime.resolver().by_sku(remembered) and \
            runtime.resolver().by_sku(remembered).product.id == match.product.id
        if same_product and not (color or size) and not variant_sku:
            color, size = tracker.get_slot("color"), tracker.get_slot("size")  # "when will they be back?"
        today = dt.date.today()
        report = check_stock(runtime.uow(), match.product, color=color, size=size, sku=variant_sku, today=today)
        if report is None:
            dispatcher.utter_message(text=f"Sorry, I can't find stock records for the {product_name(match.product)}.")
            return []
        dispatcher.utter_message(text=stock_reply(report, today, asking_date=intent == "ask_restock_date"))
        return [
            SlotSet("product_sku", match.sku or match.product.variant_skus[0]),
            SlotSet("product", match.product.title),
            SlotSet("color", color),
            SlotSet("size", size),
            SlotSet("candidate_skus", None),
        ]

    def _which_product(self, tracker: Tracker, text: str, intent: str | None, color: str | None,
                       size: str | None, remembered: str | None) -> tuple[Match | Resolution, str | None]:
        """A Match when the product is known, else the Resolution to ask about."""
        resolver = runtime.resolver()
        chosen = _entity(tracker, "sku")
        if chosen:
            match = resolver.by_sku(chosen)
            if match:
                # A button choice names the product; a SKU typed by the shopper names the variant.
                return match, (None if intent == "choose_product" else match.sku)
        hint = _entity(tracker, "product")
        drop = tuple(x for x in (color, size) if x)
        prefer = (lambda p: any(matches(color, size, c, s) for c in (p.colors or (None,)) for s in (p.sizes or (None,)))) \
            if (color or size) else None
        own_words = product_query(hint or text, drop)
        if hint or own_words:
            resolution = resolver.resolve(text, hint=hint, ignore_words=drop, prefer=prefer)
            if resolution.found:
                return resolution.found, resolution.found.sku
            if resolution.matches or not remembered:
                return resolution, None
        if remembered:
            match = resolver.by_sku(remembered)
            if match:
                return Match(match.product, 1.0), None
        return Resolution(own_words, ()), None

    def _ask_or_give_up(self, dispatcher: CollectingDispatcher, resolution: Resolution,
                        remembered: str | None) -> list[dict[str, Any]]:
        if resolution.ambiguous:
            buttons = [
                {"title": product_name(m.product)[:60],
                 "payload": "/choose_product" + json.dumps({"sku": m.product.variant_skus[0]})}
                for m in resolution.matches
            ]
            dispatcher.utter_message(text="I found a few products that could match. Which one do you mean?", buttons=buttons)
            return [SlotSet("candidate_skus", [m.product.variant_skus[0] for m in resolution.matches])]
        if resolution.query:
            shown = resolution.query if len(resolution.query) <= 60 else resolution.query[:57] + "..."
            dispatcher.utter_message(
                text=f"Sorry, I couldn't find a product matching \"{shown}\". Could you give me its name as "
                     "it appears in the shop, or its SKU (the product code on the product page)?"
            )
        else:
            dispatcher.utter_message(text="Which product are you asking about? Tell me its name or SKU and I'll check.")
        return []
