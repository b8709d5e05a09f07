"""Refunds and store credit as the customer reads them (chat and staff decisions)."""
from __future__ import annotations

from catalog.services.refunds import Method, RefundDecision, RefundResult, Settlement

REFUND_TIME = "Refunds are issued within 2 business days and show on your statement 3-5 business days later."


def settlement_text(result: RefundResult) -> str:
    amount, currency = result.amount, result.currency
    if result.settlement is Settlement.NOTHING_DUE:
        return "There is nothing left to refund on the cancelled items."
    if result.settlement is Settlement.PENDING_APPROVAL:
        return (f"A refund of {amount} {currency} needs a quick approval from our team "
                f"(ticket #{result.ticket_id}); we'll confirm as soon as it's done.")
    if result.method is Method.STORE_CREDIT:
        return (f"Store credit of {result.credit} {currency} is on your account "
                f"({amount} plus a {result.bonus} bonus).")
    return f"A refund of {amount} {currency} is on its way to your original payment method. {REFUND_TIME}"


def decision_text(decision: RefundDecision) -> str:
    """What the customer is told once staff decided a refund that waited for approval."""
    if decision.approve:
        return (f"Good news: your refund of {decision.amount} {decision.currency} for order "
                f"{decision.order_number} is approved and on its way to your original payment method.")
    return (f"We looked at your refund request for order {decision.order_number} and can't approve it as it "
            "stands. A member of our team will explain and suggest what we can do instead.")
