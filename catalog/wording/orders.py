"""Orders as the shopper reads them: proving an order is theirs, its status, cancelling."""
from __future__ import annotations

import datetime as dt

from catalog.domain.access import WINDOW
from catalog.domain.statuses import OrderLineStatus
from catalog.services.orders import CancelResult, OrderView
from catalog.wording.format import day, minutes, money

LINE_STATUS = {
    OrderLineStatus.SHIPPED: "shipped",
    OrderLineStatus.PACKED: "packed, ships soon",
    OrderLineStatus.PENDING: "being prepared",
    OrderLineStatus.CANCELLED: "cancelled",
}
TOO_MANY = (f"For your security I can't look up orders from this chat for the next {minutes(WINDOW)} after "
            "several unsuccessful tries. Please try again later, or say \"talk to a person\".")
NO_MATCH = ("I couldn't match that order number with that email address. Please check both - "
            "they're in your order confirmation email.")
NOT_AN_ORDER_NUMBER = ("That doesn't look like an order number - it's the number in your order confirmation, "
                       "like 100234.")
NOT_AN_EMAIL = "That doesn't look like an email address. Which email did you order with?"
NOTHING_LEFT_TO_CANCEL = "There was nothing left to cancel on that order."
WHAT_TO_CANCEL = " What would you like to cancel?"
CANCEL_SCOPE_BUTTONS = {
    "out_of_stock": {"title": "Only the out-of-stock items", "payload": '/cancel_order{"cancel_scope": "out_of_stock"}'},
    "all": {"title": "The whole order", "payload": '/cancel_order{"cancel_scope": "all"}'},
    "keep": {"title": "Keep my order", "payload": "/deny"},
}


def describe(status: OrderView, today: dt.date) -> str:
    parts = []
    for line in status.lines:
        if line.status == OrderLineStatus.WAITING_STOCK:
            state = (f"waiting for stock, expected around {day(line.expected, today)}" if line.expected
                     else "waiting for stock, no date yet")
        else:
            state = LINE_STATUS.get(line.status, str(line.status))
        parts.append(f"{line.quantity} x {line.sku}: {state}")
    return f"Order {status.number}: " + "; ".join(parts) + "."


def nothing_cancellable(status: OrderView) -> str:
    return (f"Nothing on order {status.number} can be cancelled any more: "
            "everything has shipped or was cancelled already.")


def cancelled_ask_settlement(result: CancelResult, status: OrderView, bonus_percent) -> tuple[str, list[dict]]:
    """After cancelling: what was cancelled, and refund or store credit? (with the buttons)."""
    names = ", ".join(f"{line.quantity} x {line.sku}" for line in result.cancelled)
    text = (f"Done - I've cancelled {names} from order {status.number} ({money(result.amount, status.currency)}). "
            f"Would you like the money back to your original payment, or store credit worth {bonus_percent}% more?")
    buttons = [{"title": "Refund to my payment", "payload": "/request_refund"},
               {"title": f"Store credit (+{bonus_percent}%)", "payload": "/request_store_credit"}]
    return text, buttons


def nothing_cancelled_yet(status: OrderView) -> tuple[str, list[dict]]:
    return ((f"Nothing on order {status.number} is cancelled yet, so there's nothing to refund. "
             "Would you like to cancel the items that are out of stock?"),
            [{"title": "Cancel out-of-stock items", "payload": '/cancel_order{"cancel_scope": "out_of_stock"}'}])
