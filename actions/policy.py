"""Answers to questions about the shop's rules, from the merchant's policy file."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.base import CatalogAction
from actions.common import entity
from catalog.wording import conversation as says


class ActionAnswerPolicy(CatalogAction):
    def name(self) -> str:
        return "action_answer_policy"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        policies = runtime.policies().get()
        if policies is None:
            dispatcher.utter_message(text=says.POLICIES_UNAVAILABLE)
            return []
        topic = policies.find(entity(tracker, "policy_topic"), tracker.latest_message.get("text") or "")
        if topic is None:
            dispatcher.utter_message(text=says.which_policy([t.title for t in policies.topics.values()]))
            return []
        dispatcher.utter_message(text=says.policy_answer(topic.title, topic.answer))
        return [SlotSet("policy_topic", topic.key)]
