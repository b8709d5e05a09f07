"""Back-in-stock alerts as the shopper reads them in the chat."""
from __future__ import annotations

from catalog.services.alerts import AlertProblem

PROBLEMS = {
    AlertProblem.NO_RECIPIENT: "I need to know where to send the alert.",
    AlertProblem.UNKNOWN_ITEM: "I couldn't find that item.",
    AlertProblem.UNKNOWN_PRODUCT: "I couldn't find that product.",
}
NO_ALERTS = "You have no restock alerts with us, so there's nothing to stop."


def subscribed(name: str, sku: str | None) -> str:
    which = f" ({sku})" if sku else ""
    return (f"Done - I'll message you here as soon as the {name}{which} is back in stock, and hold one for you for "
            "a few hours so you can buy it. Say \"stop restock alerts\" any time to cancel.")


def unsubscribed(titles: list[str]) -> str:
    return f"Done - no more restock messages for: {', '.join(dict.fromkeys(titles))}."
