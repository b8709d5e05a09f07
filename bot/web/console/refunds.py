"""Refunds above the policy threshold wait for staff (catalog/services/refunds.py): the
list of them, and the decision. `decide_refund` locks the ticket and writes ledger rows
with unique keys, so two clicks, or two staff members at once, pay once."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from bot.web.console.queue import TicketView, open_tickets
from catalog.db.orm import HandoffTicket, LedgerEntry, OrderLine, Variant
from catalog.services.refunds import decide_refund
from catalog.uow import UnitOfWork


@dataclass(frozen=True)
class Decision:
    ticket_id: int
    approve: bool
    rows: int  # ledger rows written now; 0 when someone decided first
    status: str  # the ticket's status afterwards
    amount: str
    currency: str
    order_number: str

    @property
    def decided_now(self) -> bool:
        return self.rows > 0


def pending_refunds(uow: UnitOfWork) -> list[dict[str, Any]]:
    tickets = [t for t in open_tickets(uow) if t.reason == "refund_approval"]
    if not tickets:
        return []
    with uow:
        lines: dict[int, list[dict[str, Any]]] = {}
        for ticket_id, amount, currency, sku, qty in uow.session.execute(
                select(LedgerEntry.ticket_id, LedgerEntry.amount, LedgerEntry.currency, Variant.sku, OrderLine.quantity)
                .outerjoin(OrderLine, LedgerEntry.order_line_id == OrderLine.id)
                .outerjoin(Variant, OrderLine.variant_id == Variant.id)
                .where(LedgerEntry.ticket_id.in_([t.id for t in tickets]), LedgerEntry.kind == "refund_pending")
                .order_by(LedgerEntry.id)):
            lines.setdefault(ticket_id, []).append({"sku": sku or "-", "quantity": qty, "amount": str(amount),
                                                    "currency": currency})
    return [_row(t, lines.get(t.id, [])) for t in tickets]


def _row(t: TicketView, lines: list[dict[str, Any]]) -> dict[str, Any]:
    total = sum((Decimal(line["amount"]) for line in lines), Decimal("0"))
    return {**t.as_json(), "order_number": t.payload.get("order_number", "?"),
            "amount": str(total) if lines else str(t.payload.get("amount", "?")),
            "currency": t.payload.get("currency", lines[0]["currency"] if lines else ""), "lines": lines}


def decide(uow: UnitOfWork, ticket_id: int, approve: bool, staff: str) -> Decision:
    """Raises ValueError when the ticket is not a refund approval."""
    rows = decide_refund(uow, ticket_id, approve, staff)
    with uow:
        ticket = uow.session.get(HandoffTicket, ticket_id)
        payload = dict(ticket.payload or {})
        return Decision(ticket_id, approve, rows, ticket.status, str(payload.get("amount", "")),
                        str(payload.get("currency", "")), str(payload.get("order_number", "")))


def customer_message(decision: Decision) -> str:
    if decision.approve:
        return (f"Good news: your refund of {decision.amount} {decision.currency} for order "
                f"{decision.order_number} is approved and on its way to your original payment method.")
    return (f"We looked at your refund request for order {decision.order_number} and can't approve it as it "
            "stands. A member of our team will explain and suggest what we can do instead.")
