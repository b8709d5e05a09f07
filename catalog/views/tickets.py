"""Handoff tickets as the staff console lists them, and the refunds waiting for a decision."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from catalog.db.orm import Customer, HandoffTicket, LedgerEntry, OrderLine, StaffUser, Variant
from catalog.domain.statuses import LedgerKind, TicketReason, TicketStatus
from catalog.services.handoff import split_conversation
from catalog.uow import UnitOfWork


@dataclass(frozen=True)
class TicketView:
    id: int
    conversation_id: str
    channel: str  # "" when unknown
    sender_id: str  # Rasa's conversation id
    customer_id: int | None
    customer_name: str
    customer_email: str | None
    reason: TicketReason
    status: TicketStatus
    payload: dict[str, Any]
    created_at: dt.datetime
    assigned_to: str | None
    assigned_at: dt.datetime | None


@dataclass(frozen=True)
class PendingRefund:
    ticket: TicketView
    order_number: str
    amount: Decimal | None  # the held ledger rows' total (else what the ticket says)
    currency: str
    lines: tuple[dict[str, Any], ...]  # sku, quantity, amount, currency


def _query():
    return (select(HandoffTicket, Customer.name, Customer.email, StaffUser.username)
            .outerjoin(Customer, HandoffTicket.customer_id == Customer.id)
            .outerjoin(StaffUser, HandoffTicket.assigned_staff_id == StaffUser.id))


def _view(row) -> TicketView:
    ticket, name, email, assignee = row
    channel, sender = split_conversation(ticket.conversation_id)
    return TicketView(ticket.id, ticket.conversation_id, channel, sender, ticket.customer_id, name or "", email,
                      TicketReason(ticket.reason), TicketStatus(ticket.status), dict(ticket.payload or {}),
                      ticket.created_at, assignee, ticket.assigned_at)


def open_tickets(uow: UnitOfWork, limit: int = 500) -> list[TicketView]:
    """Open tickets, oldest first."""
    with uow:
        rows = uow.session.execute(_query().where(HandoffTicket.status == TicketStatus.OPEN)
                                   .order_by(HandoffTicket.created_at, HandoffTicket.id).limit(limit)).all()
        return [_view(r) for r in rows]


def get_ticket(uow: UnitOfWork, ticket_id: int) -> TicketView | None:
    with uow:
        row = uow.session.execute(_query().where(HandoffTicket.id == ticket_id)).first()
        return _view(row) if row else None


def conversation_tickets(uow: UnitOfWork, conversation_id: str) -> list[TicketView]:
    """A conversation's tickets, newest first."""
    with uow:
        rows = uow.session.execute(_query().where(HandoffTicket.conversation_id == conversation_id)
                                   .order_by(HandoffTicket.id.desc()).limit(50)).all()
        return [_view(r) for r in rows]


def pending_refunds(uow: UnitOfWork) -> list[PendingRefund]:
    """Refunds above the approval threshold waiting for staff, oldest first, with their lines."""
    tickets = [t for t in open_tickets(uow) if t.reason == TicketReason.REFUND_APPROVAL]
    if not tickets:
        return []
    lines: dict[int, list[dict[str, Any]]] = {}
    with uow:
        for ticket_id, amount, currency, sku, qty in uow.session.execute(
                select(LedgerEntry.ticket_id, LedgerEntry.amount, LedgerEntry.currency, Variant.sku, OrderLine.quantity)
                .outerjoin(OrderLine, LedgerEntry.order_line_id == OrderLine.id)
                .outerjoin(Variant, OrderLine.variant_id == Variant.id)
                .where(LedgerEntry.ticket_id.in_([t.id for t in tickets]), LedgerEntry.kind == LedgerKind.REFUND_PENDING)
                .order_by(LedgerEntry.id)):
            lines.setdefault(ticket_id, []).append({"sku": sku, "quantity": qty, "amount": amount,
                                                    "currency": currency})
    out = []
    for t in tickets:
        held = lines.get(t.id, [])
        total = sum((line["amount"] for line in held), Decimal("0")) if held else _decimal(t.payload.get("amount"))
        currency = str(t.payload.get("currency") or (held[0]["currency"] if held else ""))
        out.append(PendingRefund(t, str(t.payload.get("order_number", "")), total, currency, tuple(held)))
    return out


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (ArithmeticError, ValueError):
        return None
