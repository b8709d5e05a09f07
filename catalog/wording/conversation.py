"""The assistant's own turns: finding the product meant, policies, handing over to a person."""
from __future__ import annotations

ASK_WHICH_PRODUCT = "I found a few products that could match. Which one do you mean?"
ASK_PRODUCT = "Which product do you mean? Tell me its name or SKU."


def not_found(query: str) -> str:
    shown = query if len(query) <= 60 else query[:57] + "..."
    return (f"Sorry, I couldn't find a product matching \"{shown}\". Could you give me its name as it appears in "
            "the shop, or its SKU (the product code on the product page)?")


POLICIES_UNAVAILABLE = ("Sorry, I can't look up our policies right now. Say \"talk to a person\" and our team "
                        "will answer.")


def which_policy(titles: list[str]) -> str:
    return f"I can tell you about our policies on {', '.join(t.lower() for t in titles)}. Which one would you like?"


def policy_answer(title: str, answer: str) -> str:
    return f"{title}: {answer}"


def handoff_opened(ticket_id: int) -> str:
    return (f"I've asked a person from our team to take over (ticket #{ticket_id}). They'll reply right here, "
            "usually within a few hours during opening times. You can add details in the meantime; nothing you "
            "wrote is lost.")


HANDOFF_FAILED = ("I'm sorry, I couldn't reach our team's queue just now. Please email support or try again in a "
                  "few minutes - your messages here are kept.")
