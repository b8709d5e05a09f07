"""Small helpers every action uses: entities of the latest message, who is chatting."""
from __future__ import annotations

import re

from rasa_sdk import Tracker

from actions import runtime
from catalog.domain.statuses import Channel
from catalog.services.customers import customer_for_identity

MAX_ENTITY_CHARS = 300
_WORD_NUMBERS = {"one": 1, "a": 1, "an": 1, "single": 1, "two": 2, "couple": 2, "pair": 2, "three": 3, "four": 4,
                 "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "dozen": 12}


# While a form waits for an answer, messages with these intents are not answers: the form
# must reject them (extract nothing) so the rules for stopping or switching topic can run.
NOT_AN_ANSWER = frozenset({
    "stop", "deny", "greet", "goodbye", "thank", "bot_challenge", "human_handoff", "ask_policy",
    "out_of_scope", "nlu_fallback", "check_stock", "ask_restock_date", "ask_substitute",
    "subscribe_restock", "unsubscribe_restock", "show_my_requests",
})


def intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def answers_form(tracker: Tracker) -> bool:
    return intent(tracker) not in NOT_AN_ANSWER


def entity(tracker: Tracker, name: str) -> str | None:
    values = [e.get("value") for e in tracker.latest_message.get("entities", []) if e.get("entity") == name]
    values = [str(v).strip() for v in values if v not in (None, "")]
    return values[0][:MAX_ENTITY_CHARS] if values else None


def joined(tracker: Tracker, name: str) -> str | None:
    """All spans of an entity in message order: NLU may split one name into pieces."""
    values = [str(e.get("value")).strip() for e in sorted(tracker.latest_message.get("entities", []),
                                                         key=lambda e: e.get("start") or 0)
              if e.get("entity") == name and e.get("value") not in (None, "")]
    return " ".join(values)[:MAX_ENTITY_CHARS] if values else None


def typed_text(tracker: Tracker) -> str:
    """What the shopper wrote; empty for a button's `/intent{...}` payload, which carries
    its values as entities and nothing else to read."""
    text = tracker.latest_message.get("text") or ""
    return "" if text.lstrip().startswith("/") else text


def channel(tracker: Tracker) -> str:
    return (tracker.get_latest_input_channel() or Channel.REST)[:32]


def customer_id(tracker: Tracker) -> int:
    """The customer behind this conversation, created on first use (a database call: run
    it in a worker thread)."""
    return customer_for_identity(runtime.uow(), channel(tracker), tracker.sender_id)


def parse_quantity(text: str | None, ignore: tuple[str, ...] = ()) -> int | None:
    """"2", "two please", "a couple" -> a whole number; None when there is none. Numbers in
    `ignore` (a reservation's number said in the same breath) do not count."""
    if not text:
        return None
    for number in filter(None, ignore):
        text = re.sub(rf"#?\b{re.escape(number)}\b", " ", text, count=1)
    digits = re.findall(r"(?<![\w.])-?\d+(?![\w.])", text)
    if digits:
        return int(digits[0])
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in _WORD_NUMBERS and word not in {"a", "an"}:
            return _WORD_NUMBERS[word]
    return None


def order_number(text: str | None) -> str | None:
    """Order numbers as shoppers type them: "#100234", "order 100234", "100 234"."""
    if not text:
        return None
    match = re.search(r"#?\s*([A-Za-z]{0,4}-?\d[\d\s-]{3,14}\d)", text)
    if not match:
        return None
    return re.sub(r"[\s-]", "", match.group(1)).upper()


EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def email_in(text: str | None) -> str | None:
    match = EMAIL.search(text or "")
    return match.group(0) if match else None
