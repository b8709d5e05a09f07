"""The handoff queue: open tickets, oldest first, and who took a conversation over.

A ticket's `conversation_id` is "<channel>:<sender id>" (actions/handoff.py,
catalog/services/refunds.py); the sender id is Rasa's conversation id.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select, update

from catalog.db.orm import Customer, HandoffTicket, StaffUser, utcnow
from catalog.services.handoff import add_ticket
from catalog.uow import UnitOfWork

REASON_LABELS = {
    "customer_request": "asked for a person",
    "refund_approval": "refund waiting for approval",
    "order_problem": "order problem",
    "other": "other",
}


def split_conversation(conversation_id: str) -> tuple[str, str]:
    """("telegram", "12345") from "telegram:12345"; ("", id) when there is no channel."""
    channel, sep, sender = (conversation_id or "").partition(":")
    return (channel, sender) if sep and sender else ("", conversation_id or "")


@dataclass(frozen=True)
class TicketView:
    id: int
    conversation_id: str
    channel: str
    sender_id: str
    customer_id: int | None
    customer: str
    reason: str
    reason_label: str
    status: str
    summary: str
    payload: dict[str, Any]
    created_at: dt.datetime
    waiting: str
    assigned_to: str | None
    assigned_at: dt.datetime | None

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["created_at"] = _iso(self.created_at)
        out["assigned_at"] = _iso(self.assigned_at) if self.assigned_at else None
        out["url"] = f"/console/tickets/{self.id}"
        out.pop("payload")
        return out


def _iso(value: dt.datetime) -> str:
    return value.replace(microsecond=0).isoformat() + "Z"


def waited(since: dt.datetime, now: dt.datetime) -> str:
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


def _summary(ticket: HandoffTicket) -> str:
    payload = ticket.payload or {}
    if ticket.reason == "refund_approval":
        return f"Refund of {payload.get('amount', '?')} {payload.get('currency', '')} for order " \
               f"{payload.get('order_number', '?')}".strip()
    note = str(payload.get("note") or "")
    return note.replace("\n", " / ")[:300]


def _query():
    return (select(HandoffTicket, Customer.name, Customer.email, StaffUser.username)
            .outerjoin(Customer, HandoffTicket.customer_id == Customer.id)
            .outerjoin(StaffUser, HandoffTicket.assigned_staff_id == StaffUser.id))


def _view(row, now: dt.datetime) -> TicketView:
    ticket, name, email, assignee = row
    channel, sender = split_conversation(ticket.conversation_id)
    who = name or email or (f"customer #{ticket.customer_id}" if ticket.customer_id else sender)
    return TicketView(ticket.id, ticket.conversation_id, channel or "unknown", sender, ticket.customer_id, who,
                      ticket.reason, REASON_LABELS.get(ticket.reason, ticket.reason), ticket.status, _summary(ticket),
                      dict(ticket.payload or {}), ticket.created_at, waited(ticket.created_at, now), assignee,
                      ticket.assigned_at)


def open_tickets(uow: UnitOfWork, limit: int = 500) -> list[TicketView]:
    now = utcnow()
    with uow:
        rows = uow.session.execute(_query().where(HandoffTicket.status == "open")
                                   .order_by(HandoffTicket.created_at, HandoffTicket.id).limit(limit)).all()
        return [_view(r, now) for r in rows]


def get_ticket(uow: UnitOfWork, ticket_id: int) -> TicketView | None:
    with uow:
        row = uow.session.execute(_query().where(HandoffTicket.id == ticket_id)).first()
        return _view(row, utcnow()) if row else None


def conversation_tickets(uow: UnitOfWork, conversation_id: str) -> list[TicketView]:
    now = utcnow()
    with uow:
        rows = uow.session.execute(_query().where(HandoffTicket.conversation_id == conversation_id)
                                   .order_by(HandoffTicket.id.desc()).limit(50)).all()
        return [_view(r, now) for r in rows]


def take_over(uow: UnitOfWork, conversation_id: str, staff_id: int, customer_id: int | None = None) -> str | None:
    """Assign the conversation's open tickets to this staff member. Returns None on success,
    or the username of whoever has it already (two people clicking at once: one wins)."""
    with uow:
        uow.begin_write()
        rows = uow.session.execute(
            select(HandoffTicket.id, HandoffTicket.assigned_staff_id).where(
                HandoffTicket.conversation_id == conversation_id, HandoffTicket.status == "open")
            .with_for_update()).all()
        others = {a for _, a in rows if a is not None and a != staff_id}
        if others:
            return uow.session.execute(select(StaffUser.username).where(StaffUser.id == min(others))).scalar_one()
        now = utcnow()
        if not rows:  # handed back earlier and taken over again: a new ticket records it
            add_ticket(uow.session, conversation_id, "other", customer_id, {"note": "taken over again by staff"})
        uow.session.execute(update(HandoffTicket).where(
            HandoffTicket.conversation_id == conversation_id, HandoffTicket.status == "open",
            HandoffTicket.assigned_staff_id.is_(None)).values(assigned_staff_id=staff_id, assigned_at=now))
        uow.commit()
        return None


def release(uow: UnitOfWork, conversation_id: str, staff_id: int) -> None:
    """Undo a take-over that could not pause the bot."""
    with uow:
        uow.session.execute(update(HandoffTicket).where(
            HandoffTicket.conversation_id == conversation_id, HandoffTicket.status == "open",
            HandoffTicket.assigned_staff_id == staff_id).values(assigned_staff_id=None, assigned_at=None))
        uow.commit()


def hand_back(uow: UnitOfWork, conversation_id: str) -> int:
    """The conversation goes back to the bot: its open tickets are closed, except refunds still
    waiting for a decision (they stay in the queue, unassigned). Returns the tickets closed."""
    now = utcnow()
    with uow:
        uow.begin_write()
        closed = uow.session.execute(update(HandoffTicket).where(
            HandoffTicket.conversation_id == conversation_id, HandoffTicket.status == "open",
            HandoffTicket.reason != "refund_approval").values(status="closed", closed_at=now)).rowcount
        uow.session.execute(update(HandoffTicket).where(
            HandoffTicket.conversation_id == conversation_id, HandoffTicket.status == "open")
            .values(assigned_staff_id=None, assigned_at=None))
        uow.commit()
        return int(closed or 0)
