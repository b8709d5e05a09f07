"""Requests for a person: one ticket row with the reason and the conversation to read, and
which staff member holds a conversation while the bot is paused.

A ticket's `conversation_id` is "<channel>:<sender id>"; the sender id is Rasa's
conversation id.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from catalog.db.orm import HandoffTicket, StaffUser
from catalog.clock import utcnow
from catalog.domain.statuses import TicketReason, TicketStatus
from catalog.uow import UnitOfWork


def conversation_key(channel: str, sender_id: str) -> str:
    return f"{channel}:{sender_id}"


def split_conversation(conversation_id: str) -> tuple[str, str]:
    """("telegram", "12345") from "telegram:12345"; ("", id) when there is no channel."""
    channel, sep, sender = (conversation_id or "").partition(":")
    return (channel, sender) if sep and sender else ("", conversation_id or "")


def add_ticket(session: Session, conversation_id: str, reason: TicketReason, customer_id: int | None = None,
               payload: dict[str, Any] | None = None) -> HandoffTicket:
    """Inside the caller's transaction (a refund waiting for approval creates its ticket atomically)."""
    ticket = HandoffTicket(conversation_id=(conversation_id or "unknown")[:200],
                           reason=reason if reason in frozenset(TicketReason) else TicketReason.OTHER, customer_id=customer_id,
                           status=TicketStatus.OPEN, payload=payload or {}, created_at=utcnow())
    session.add(ticket)
    session.flush()
    return ticket


def request_handoff(uow: UnitOfWork, conversation_id: str, reason: TicketReason, customer_id: int | None = None,
                    note: str | None = None) -> int:
    """Open a ticket for the team; returns its number. `note` is the shopper's words, kept short."""
    with uow:
        ticket = add_ticket(uow.session, conversation_id, reason, customer_id,
                            {"note": (note or "")[:2000]} if note else {})
        uow.commit()
        return ticket.id


def take_over(uow: UnitOfWork, conversation_id: str, staff_id: int, customer_id: int | None = None) -> str | None:
    """Assign the conversation's open tickets to this staff member. Returns None on success,
    or the username of whoever has it already (two people clicking at once: one wins)."""
    with uow:
        uow.begin_write()
        rows = uow.session.execute(
            select(HandoffTicket.id, HandoffTicket.assigned_staff_id).where(
                HandoffTicket.conversation_id == conversation_id, HandoffTicket.status == TicketStatus.OPEN)
            .with_for_update()).all()
        others = {a for _, a in rows if a is not None and a != staff_id}
        if others:
            return uow.session.execute(select(StaffUser.username).where(StaffUser.id == min(others))).scalar_one()
        if not rows:  # handed back earlier and taken over again: a new ticket records it
            add_ticket(uow.session, conversation_id, TicketReason.OTHER, customer_id, {"taken_over_again": True})
        uow.session.execute(update(HandoffTicket).where(
            HandoffTicket.conversation_id == conversation_id, HandoffTicket.status == TicketStatus.OPEN,
            HandoffTicket.assigned_staff_id.is_(None)).values(assigned_staff_id=staff_id, assigned_at=utcnow()))
        uow.commit()
        return None


def release(uow: UnitOfWork, conversation_id: str, staff_id: int) -> None:
    """Undo a take-over that could not pause the bot."""
    with uow:
        uow.session.execute(update(HandoffTicket).where(
            HandoffTicket.conversation_id == conversation_id, HandoffTicket.status == TicketStatus.OPEN,
            HandoffTicket.assigned_staff_id == staff_id).values(assigned_staff_id=None, assigned_at=None))
        uow.commit()


def hand_back(uow: UnitOfWork, conversation_id: str) -> int:
    """The conversation goes back to the bot: its open tickets are closed, except refunds still
    waiting for a decision (they stay in the queue, unassigned). Returns the tickets closed."""
    with uow:
        uow.begin_write()
        closed = uow.session.execute(update(HandoffTicket).where(
            HandoffTicket.conversation_id == conversation_id, HandoffTicket.status == TicketStatus.OPEN,
            HandoffTicket.reason != TicketReason.REFUND_APPROVAL)
            .values(status=TicketStatus.CLOSED, closed_at=utcnow())).rowcount
        uow.session.execute(update(HandoffTicket).where(
            HandoffTicket.conversation_id == conversation_id, HandoffTicket.status == TicketStatus.OPEN)
            .values(assigned_staff_id=None, assigned_at=None))
        uow.commit()
        return int(closed or 0)
