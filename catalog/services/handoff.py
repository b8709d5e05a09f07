"""Requests for a person: one ticket row with the reason and the conversation to read."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from catalog.db.orm import HandoffTicket, utcnow
from catalog.uow import UnitOfWork

REASONS = ("customer_request", "refund_approval", "order_problem", "other")


def add_ticket(session: Session, conversation_id: str, reason: str, customer_id: int | None = None,
               payload: dict[str, Any] | None = None) -> HandoffTicket:
    """Inside the caller's transaction (a refund waiting for approval creates its ticket atomically)."""
    ticket = HandoffTicket(conversation_id=(conversation_id or "unknown")[:200],
                           reason=reason if reason in REASONS else "other", customer_id=customer_id,
                           status="open", payload=payload or {}, created_at=utcnow())
    session.add(ticket)
    session.flush()
    return ticket


def request_handoff(uow: UnitOfWork, conversation_id: str, reason: str, customer_id: int | None = None,
                    note: str | None = None) -> int:
    """Open a ticket for the team; returns its number. `note` is the shopper's words, kept short."""
    with uow:
        ticket = add_ticket(uow.session, conversation_id, reason, customer_id,
                            {"note": (note or "")[:2000]} if note else {})
        uow.commit()
        return ticket.id
