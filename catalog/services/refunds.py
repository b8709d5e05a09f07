"""Refunds and store credit for cancelled order lines, through the append-only ledger.

Idempotent: the caller's `idempotency_key` (one per customer decision, reused on every
retry or double-click) becomes the UNIQUE key of the ledger rows, so a repeated request
returns the first outcome and pays nothing more, even when twenty copies race (the
order row is locked first; the unique index is the last line of defence). Capped:
nothing is paid beyond each line's price or the order's paid total minus everything
refunded, credited or pending. Refunds above the policy's `refund_approval_threshold`
are held as `refund_pending` with a handoff ticket until staff approve or reject them.
Results are outcomes; catalog.wording.refunds says them.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from catalog.db.orm import HandoffTicket, LedgerEntry, Order, OrderLine
from catalog.clock import utcnow
from catalog.domain.ledger import Entry, amount_to_return, cents, needs_approval, refundable, store_credit_bonus
from catalog.domain.statuses import LedgerKind, OrderLineStatus, TicketReason, TicketStatus
from catalog.policy import MoneySettings, money_settings
from catalog.services.handoff import add_ticket
from catalog.services.orders import OrderProof, verified_order
from catalog.uow import UnitOfWork


class Method(str, enum.Enum):
    REFUND = "refund"  # back to the original payment
    STORE_CREDIT = "store_credit"  # credit worth `store_credit_bonus_percent` more


class Settlement(str, enum.Enum):
    PAID = "paid"  # refund issued / credit granted
    PENDING_APPROVAL = "pending_approval"  # above the threshold: a person approves first
    NOTHING_DUE = "nothing_due"  # no cancelled line has anything left to return


@dataclass(frozen=True)
class RefundResult:
    settlement: Settlement
    method: Method
    amount: Decimal  # paid money returned (or converted to credit)
    bonus: Decimal  # extra store credit on top
    currency: str
    ticket_id: int | None
    replayed: bool = False  # True when this answers a retry of an earlier request

    @property
    def credit(self) -> Decimal:
        return self.amount + self.bonus


def settle_cancelled_lines(
    uow: UnitOfWork, proof: OrderProof, method: Method, idempotency_key: str,
    line_ids: list[int] | None = None, settings: MoneySettings | None = None, now: dt.datetime | None = None,
) -> RefundResult:
    """Refund or credit the cancelled lines of a proven order (all of them, or `line_ids`)."""
    method = Method(method)
    key = (idempotency_key or "").strip()[:150]
    if not key:
        raise ValueError("an idempotency key is required (one per customer decision)")
    settings = settings or money_settings()
    try:
        with uow:
            uow.begin_write()
            order = verified_order(uow, proof, now)
            result = _settle(uow, order.id, method, key, line_ids, settings, proof.conversation_id, now or utcnow())
            uow.commit()
            return result
    except IntegrityError:  # a twin request committed first: answer with its outcome
        with uow:
            replay = _replay(uow, key, method)
        if replay is None:
            raise
        return replay


def _settle(uow: UnitOfWork, order_id: int, method: Method, key: str, line_ids: list[int] | None,
            settings: MoneySettings, conversation_id: str, now: dt.datetime) -> RefundResult:
    order = uow.session.execute(select(Order).where(Order.id == order_id).with_for_update()).scalar_one()
    replay = _replay(uow, key, method)
    if replay is not None:
        return replay
    entries = _entries(uow, order.id)
    lines = uow.session.execute(select(OrderLine).where(OrderLine.order_id == order.id)).scalars().all()
    paid_by_lines = sum((cents(line.unit_price * line.quantity) for line in lines), Decimal("0"))
    order_left = refundable(entries, paid_without_entries=paid_by_lines)
    wanted = {line.id: cents(line.unit_price * line.quantity) for line in lines
              if line.status == OrderLineStatus.CANCELLED and (line_ids is None or line.id in set(line_ids))}
    used = {lid: amount_to_return({lid: total}, entries, order_left) for lid, total in wanted.items()}
    plan: list[tuple[int, Decimal]] = []
    left = order_left
    for lid in sorted(used):  # each line capped by its price and all together by the order
        take = min(used[lid], left)
        if take > 0:
            plan.append((lid, take))
            left -= take
    total = sum((amount for _, amount in plan), Decimal("0"))
    if total <= 0:
        return RefundResult(Settlement.NOTHING_DUE, method, Decimal("0.00"), Decimal("0.00"), order.currency, None)
    ticket_id = None
    if method is Method.REFUND and needs_approval(total, settings.approval_threshold):
        kind = LedgerKind.REFUND_PENDING
        ticket_id = add_ticket(uow.session, conversation_id, TicketReason.REFUND_APPROVAL, order.customer_id,
                               {"order_id": order.id, "order_number": order.number, "amount": str(total),
                                "currency": order.currency, "idempotency_key": key}).id
    else:
        kind = LedgerKind.REFUND if method is Method.REFUND else LedgerKind.STORE_CREDIT
    bonus_total = Decimal("0")
    for lid, amount in plan:
        bonus = store_credit_bonus(amount, settings.bonus_percent) if method is Method.STORE_CREDIT else Decimal("0")
        bonus_total += bonus
        uow.session.add(LedgerEntry(order_id=order.id, order_line_id=lid, customer_id=order.customer_id, kind=kind,
                                    amount=amount, bonus=bonus, currency=order.currency,
                                    idempotency_key=f"{key}#{lid}", ticket_id=ticket_id, created_at=now))
    uow.session.flush()
    return _result(kind, method, total, bonus_total, order.currency, ticket_id, replayed=False)


def _result(kind: str, method: Method, amount: Decimal, bonus: Decimal, currency: str, ticket_id: int | None,
            replayed: bool) -> RefundResult:
    if kind == LedgerKind.REFUND_PENDING:
        return RefundResult(Settlement.PENDING_APPROVAL, method, amount, bonus, currency, ticket_id, replayed)
    return RefundResult(Settlement.PAID, method, amount, bonus, currency, None, replayed)


def _replay(uow: UnitOfWork, key: str, method: Method) -> RefundResult | None:
    rows = uow.session.execute(select(LedgerEntry).where(
        LedgerEntry.idempotency_key.like(f"{_escape_like(key)}#%", escape="\\"))).scalars().all()
    rows = [r for r in rows if r.idempotency_key.rsplit("#", 1)[0] == key]
    if not rows:
        return None
    amount = sum((r.amount for r in rows), Decimal("0"))
    bonus = sum((r.bonus for r in rows), Decimal("0"))
    kind = rows[0].kind
    used = Method.STORE_CREDIT if kind == LedgerKind.STORE_CREDIT else Method.REFUND
    return _result(kind, used, amount, bonus, rows[0].currency, rows[0].ticket_id, replayed=True)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _entries(uow: UnitOfWork, order_id: int) -> list[Entry]:
    return [Entry(kind, amount, lid) for kind, amount, lid in uow.session.execute(
        select(LedgerEntry.kind, LedgerEntry.amount, LedgerEntry.order_line_id).where(LedgerEntry.order_id == order_id))]


def refundable_amount(uow: UnitOfWork, order_id: int) -> Decimal:
    """What the order can still give back (staff and tests; the chat goes through settle_cancelled_lines)."""
    with uow:
        lines = uow.session.execute(select(OrderLine.unit_price, OrderLine.quantity).where(
            OrderLine.order_id == order_id)).all()
        paid = sum((cents(p * q) for p, q in lines), Decimal("0"))
        return refundable(_entries(uow, order_id), paid_without_entries=paid)


class NotARefundTicket(LookupError):
    """No refund waits for a decision under that ticket number."""


@dataclass(frozen=True)
class RefundDecision:
    ticket_id: int
    approve: bool
    decided_now: bool  # False when someone decided first: nothing more was written
    amount: str
    currency: str
    order_number: str
    conversation_id: str  # where the customer asked, to tell them


def decide_refund(uow: UnitOfWork, ticket_id: int, approve: bool, staff: str) -> RefundDecision:
    """Staff decision on a held refund: pays it (refund_approved) or releases it (refund_rejected).
    Deciding a ticket already decided writes nothing. Raises NotARefundTicket for a ticket
    that is not a refund approval."""
    with uow:
        uow.begin_write()
        ticket = uow.session.execute(select(HandoffTicket).where(HandoffTicket.id == ticket_id).with_for_update()).scalar_one_or_none()
        if ticket is None or ticket.reason != TicketReason.REFUND_APPROVAL:
            raise NotARefundTicket(ticket_id)
        payload = dict(ticket.payload or {})
        decision = RefundDecision(ticket_id, approve, ticket.status == TicketStatus.OPEN, str(payload.get("amount", "")),
                                  str(payload.get("currency", "")), str(payload.get("order_number", "")),
                                  ticket.conversation_id)
        if not decision.decided_now:
            return decision
        pending = uow.session.execute(select(LedgerEntry).where(
            LedgerEntry.ticket_id == ticket_id, LedgerEntry.kind == LedgerKind.REFUND_PENDING)).scalars().all()
        kind = LedgerKind.REFUND_APPROVED if approve else LedgerKind.REFUND_REJECTED
        for e in pending:
            uow.session.add(LedgerEntry(order_id=e.order_id, order_line_id=e.order_line_id, customer_id=e.customer_id,
                                        kind=kind, amount=e.amount, currency=e.currency, related_entry_id=e.id,
                                        idempotency_key=f"{kind}:{e.id}", ticket_id=ticket_id, note=f"by {staff}"[:500]))
        ticket.status = TicketStatus.APPROVED if approve else TicketStatus.REJECTED
        ticket.closed_at = utcnow()
        uow.commit()
        return decision
