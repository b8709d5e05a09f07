"""Refunds and store credit for cancelled order lines, through the append-only ledger.

Idempotent: the caller's `idempotency_key` (one per customer decision, reused on every
retry or double-click) becomes the UNIQUE key of the ledger rows, so a repeated request
returns the first outcome and pays nothing more, even when twenty copies race (the
order row is locked first; the unique index is the last line of defence). Capped:
nothing is paid beyond each line's price or the order's paid total minus everything
refunded, credited or pending. Refunds above the policy's `refund_approval_threshold`
are held as `refund_pending` with a handoff ticket until staff approve or reject them.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from catalog.db.orm import HandoffTicket, LedgerEntry, Order, OrderLine, utcnow
from catalog.domain.ledger import REFUND_TIME, Entry, amount_to_return, cents, needs_approval, refundable, store_credit_bonus
from catalog.policy import PolicyStore
from catalog.services.handoff import add_ticket
from catalog.services.orders import OrderProof, _verified
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
    message: str
    replayed: bool = False  # True when this answers a retry of an earlier request

    @property
    def credit(self) -> Decimal:
        return self.amount + self.bonus


@dataclass(frozen=True)
class MoneySettings:
    bonus_percent: Decimal = Decimal("10")
    approval_threshold: Decimal = Decimal("200")


def settings_from_policy(store: PolicyStore | None = None) -> MoneySettings:
    policies = (store or PolicyStore()).get()
    if policies is None:
        return MoneySettings()
    return MoneySettings(policies.store_credit_bonus_percent, policies.refund_approval_threshold)


def settle_cancelled_lines(
    uow: UnitOfWork, proof: OrderProof, method: Method, idempotency_key: str,
    line_ids: list[int] | None = None, settings: MoneySettings | None = None, now: dt.datetime | None = None,
) -> RefundResult:
    """Refund or credit the cancelled lines of a proven order (all of them, or `line_ids`)."""
    method = Method(method)
    key = (idempotency_key or "").strip()[:150]
    if not key:
        raise ValueError("an idempotency key is required (one per customer decision)")
    settings = settings or settings_from_policy()
    try:
        with uow:
            uow.begin_write()
            order = _verified(uow, proof, now)
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
              if line.status == "cancelled" and (line_ids is None or line.id in set(line_ids))}
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
        return RefundResult(Settlement.NOTHING_DUE, method, Decimal("0.00"), Decimal("0.00"), order.currency, None,
                            "There is nothing left to refund on the cancelled items.")
    ticket_id = None
    if method is Method.REFUND and needs_approval(total, settings.approval_threshold):
        kind = "refund_pending"
        ticket_id = add_ticket(uow.session, conversation_id, "refund_approval", order.customer_id,
                               {"order_id": order.id, "order_number": order.number, "amount": str(total),
                                "currency": order.currency, "idempotency_key": key}).id
    else:
        kind = "refund" if method is Method.REFUND else "store_credit"
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
    if kind == "refund_pending":
        return RefundResult(Settlement.PENDING_APPROVAL, method, amount, bonus, currency, ticket_id,
                            f"A refund of {amount} {currency} needs a quick approval from our team "
                            f"(ticket #{ticket_id}); we'll confirm as soon as it's done.", replayed)
    if kind == "store_credit":
        return RefundResult(Settlement.PAID, method, amount, bonus, currency, None,
                            f"Store credit of {amount + bonus} {currency} is on your account "
                            f"({amount} plus a {bonus} bonus).", replayed)
    return RefundResult(Settlement.PAID, method, amount, bonus, currency, None,
                        f"A refund of {amount} {currency} is on its way to your original payment method. {REFUND_TIME}",
                        replayed)


def _replay(uow: UnitOfWork, key: str, method: Method) -> RefundResult | None:
    rows = uow.session.execute(select(LedgerEntry).where(
        LedgerEntry.idempotency_key.like(f"{_escape_like(key)}#%", escape="\\"))).scalars().all()
    rows = [r for r in rows if r.idempotency_key.rsplit("#", 1)[0] == key]
    if not rows:
        return None
    amount = sum((r.amount for r in rows), Decimal("0"))
    bonus = sum((r.bonus for r in rows), Decimal("0"))
    kind = rows[0].kind
    used = Method.STORE_CREDIT if kind == "store_credit" else Method.REFUND
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


def record_payment(uow: UnitOfWork, order_id: int, amount: Decimal, idempotency_key: str) -> None:
    """Record money received for an order (from the shop's payment provider); idempotent by key."""
    amount = cents(Decimal(amount))
    if amount <= 0:
        raise ValueError("a payment must be positive")
    with uow:
        uow.begin_write()
        if uow.session.execute(select(LedgerEntry.id).where(LedgerEntry.idempotency_key == idempotency_key)).first():
            return
        order = uow.session.execute(select(Order).where(Order.id == order_id).with_for_update()).scalar_one()
        uow.session.add(LedgerEntry(order_id=order.id, customer_id=order.customer_id, kind="payment", amount=amount,
                                    currency=order.currency, idempotency_key=idempotency_key[:200]))
        uow.commit()


def decide_refund(uow: UnitOfWork, ticket_id: int, approve: bool, staff: str = "staff") -> int:
    """Staff decision on a held refund: pays it (refund_approved) or releases it (refund_rejected).
    Returns the number of ledger rows written; 0 when the ticket was already decided."""
    with uow:
        uow.begin_write()
        ticket = uow.session.execute(select(HandoffTicket).where(HandoffTicket.id == ticket_id).with_for_update()).scalar_one_or_none()
        if ticket is None or ticket.reason != "refund_approval":
            raise ValueError(f"no refund approval ticket #{ticket_id}")
        if ticket.status != "open":
            return 0
        pending = uow.session.execute(select(LedgerEntry).where(
            LedgerEntry.ticket_id == ticket_id, LedgerEntry.kind == "refund_pending")).scalars().all()
        kind = "refund_approved" if approve else "refund_rejected"
        for e in pending:
            uow.session.add(LedgerEntry(order_id=e.order_id, order_line_id=e.order_line_id, customer_id=e.customer_id,
                                        kind=kind, amount=e.amount, currency=e.currency, related_entry_id=e.id,
                                        idempotency_key=f"{kind}:{e.id}", ticket_id=ticket_id, note=f"by {staff}"[:500]))
        ticket.status = "approved" if approve else "rejected"
        ticket.closed_at = utcnow()
        uow.commit()
        return len(pending)
