"""When the classifier is unsure: answer a stock question that names a catalog product anyway.

Shoppers paste long feed titles or write "<brand> <model> left?", and the classifier may
fall below its confidence line on words it has never seen. If its best guess was still a
stock question and the message names one product of the catalog without doubt, the
shopper gets the stock answer; otherwise the usual "sorry, I didn't get that", and the
second time in a row a request to rephrase. The catalog, not the training data, decides
whether the message names a product, so this holds for products imported after training.
"""
from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.base import CatalogAction
from actions.common import MAX_ENTITY_CHARS, joined
from actions.stock import ActionAnswerStock

# The intents a product named in the message can rescue, and how sure the classifier must
# still have been of one of them (its best guess, below the fallback line).
STOCK_QUESTIONS = ("check_stock", "ask_restock_date")
LEANING_AT_LEAST = 0.3


def leaning_to_stock_question(tracker: Tracker) -> str | None:
    """The stock intent the classifier ranked first, if it did and was not far off."""
    ranking = [r for r in tracker.latest_message.get("intent_ranking") or [] if r.get("name") != "nlu_fallback"]
    if ranking and ranking[0].get("name") in STOCK_QUESTIONS and float(ranking[0].get("confidence") or 0) >= LEANING_AT_LEAST:
        return ranking[0]["name"]
    return None


def fell_back_just_before(tracker: Tracker) -> bool:
    """Whether the bot's last words before this message were the 'didn't get that' reply."""
    events = tracker.events
    users = [i for i, e in enumerate(events) if e.get("event") == "user"]
    for event in reversed(events[:users[-1]] if users else []):
        if event.get("event") == "bot":
            return (event.get("metadata") or {}).get("utter_action") == "utter_default"
    return False


class ActionRecoverFallback(CatalogAction):
    def name(self) -> str:
        return "action_recover_fallback"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        leaning = leaning_to_stock_question(tracker)
        if leaning:
            text = (tracker.latest_message.get("text") or "")[:MAX_ENTITY_CHARS]
            if runtime.resolver().resolve(text, hint=joined(tracker, "product")).found:
                return ActionAnswerStock().answer(dispatcher, tracker, asking_date=leaning == "ask_restock_date")
        dispatcher.utter_message(response="utter_ask_rephrase" if fell_back_just_before(tracker) else "utter_default")
        return []
