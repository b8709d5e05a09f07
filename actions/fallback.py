"""Unsure or out-of-scope messages that name a catalog product: answered as stock questions.

Shoppers paste long feed titles or write "<brand> <model> left?", and the classifier may
fall below its confidence line on words it has never seen, or even take a bare product
name for something off-topic. The catalog, not the training data, knows the merchant's
names, so it decides, and this holds for products imported after training:

- the message names one product without doubt, and either the classifier was unsure
  (`nlu_fallback`) with a stock question as its best guess, or the message is that
  product's name and little else (nearly every word left after the question's framing is
  one of the product's own, so "how is <brand> stock doing" stays out of scope even in a
  shop that sells that brand): the stock answer;
- otherwise the usual reply: the out-of-scope one, or "sorry, I didn't get that" and the
  second time in a row a request to rephrase.
"""
from __future__ import annotations

from typing import Any

from rapidfuzz import fuzz
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.base import CatalogAction
from actions.common import MAX_ENTITY_CHARS, intent, joined
from actions.stock import ActionAnswerStock
from catalog.domain.products import ProductInfo
from catalog.search.resolver import search_text
from catalog.search.text import product_query

# The intents a product named in the message can rescue, and how sure the classifier must
# still have been of one of them (its best guess, below the fallback line).
STOCK_QUESTIONS = ("check_stock", "ask_restock_date")
LEANING_AT_LEAST = 0.3
# Share of an off-topic message's own words that must be the product's for it to count
# as the product's name; a word counts when it is spelled nearly the same (typos).
NAME_SHARE = 0.75
OTHER_WORDS_AT_MOST = 2
SAME_WORD = 85


def leaning_to_stock_question(tracker: Tracker) -> str | None:
    """The stock intent the classifier ranked first, if it did and was not far off."""
    ranking = [r for r in tracker.latest_message.get("intent_ranking") or [] if r.get("name") != "nlu_fallback"]
    if ranking and ranking[0].get("name") in STOCK_QUESTIONS and float(ranking[0].get("confidence") or 0) >= LEANING_AT_LEAST:
        return ranking[0]["name"]
    return None


def is_the_products_name(text: str, product: ProductInfo) -> bool:
    """Whether the message, less its question framing, is made of the product's own words."""
    asked = product_query(text).split()
    own = product_query(search_text(product)).split()
    if not asked or not own:
        return False
    named = sum(any(w == o or fuzz.ratio(w, o) >= SAME_WORD for o in own) for w in asked)
    return named / len(asked) >= NAME_SHARE and len(asked) - named <= OTHER_WORDS_AT_MOST


def fell_back_just_before(tracker: Tracker) -> bool:
    """Whether the bot's last words before this message were the 'didn't get that' reply."""
    events = tracker.events
    users = [i for i, e in enumerate(events) if e.get("event") == "user"]
    for event in reversed(events[:users[-1]] if users else []):
        if event.get("event") == "bot":
            return (event.get("metadata") or {}).get("utter_action") == "utter_default"
    return False


def stock_question_behind(tracker: Tracker) -> tuple[bool, bool]:
    """(answer it as a stock question, the shopper asked when it comes back) for an unsure
    or out-of-scope message; one rule for the action and for the evaluation."""
    text = (tracker.latest_message.get("text") or "")[:MAX_ENTITY_CHARS]
    leaning = None if intent(tracker) == "out_of_scope" else leaning_to_stock_question(tracker)
    found = runtime.resolver().resolve(text, hint=joined(tracker, "product")).found
    if found and (leaning or is_the_products_name(text, found.product)):
        return True, leaning == "ask_restock_date"
    return False, False


class ActionRecoverFallback(CatalogAction):
    def name(self) -> str:
        return "action_recover_fallback"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        answer, asking_date = stock_question_behind(tracker)
        if answer:
            return ActionAnswerStock().answer(dispatcher, tracker, asking_date=asking_date)
        if intent(tracker) == "out_of_scope":
            dispatcher.utter_message(response="utter_out_of_scope")
        else:
            dispatcher.utter_message(response="utter_ask_rephrase" if fell_back_just_before(tracker) else "utter_default")
        return []
