"""Answers to questions about the shop's rules, from the merchant's policy file."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.guard import apologise_on_failure


class ActionAnswerPolicy(Action):
    def name(self) -> str:
        return "action_answer_policy"

    @apologise_on_failure
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        policies = runtime.policies().get()
        if policies is None:
            dispatcher.utter_message(
                text="Sorry, I can't look up our policies right now. Say \"talk to a person\" and our team will answer.")
            return []
        asked = next((e.get("value") for e in tracker.latest_message.get("entities", [])
                      if e.get("entity") == "policy_topic"), None)
        topic = policies.find(asked, tracker.latest_message.get("text") or "")
        if topic is None:
            names = ", ".join(t.title.lower() for t in policies.topics.values())
            dispatcher.utter_message(text=f"I can tell you about our policies on {names}. Which one would you like?")
            return []
        dispatcher.utter_message(text=f"{topic.title}: {topic.answer}")
        return [SlotSet("policy_topic", topic.key)]
