"""Orders a customer has proved are theirs: status per line, cancelling lines.

Every function here takes an `OrderProof` and verifies it first, so there is no way to
reach an order without proof. Proof is the order number plus the email on the order
(case and surrounding spaces do not matter), or a chat identity already linked to the
order's customer. Failed attempts are recorded; after too many from one conversation,
or against one order number, further attempts are refused for a while, so order
numbers cannot be guessed. Unknown numbers and wrong emails get the same answer.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from catalog.db.orm import ChannelIdentity, Order, OrderAccessAttempt, OrderLine, Variant
from catalog.clock import utcnow
from catalog.domain.access import WINDOW, Failures, is_rate_limited, normalise_email, normalise_order_number
from catalog.domain.ledger import cents
from catalog.domain.reservations import earliest_eta
from catalog.domain.statuses import CANCELLABLE_LINES, OrderLineStatus, OrderStatus
from catalog.uow import UnitOfWork


@dataclass(frozen=True)
class OrderProof:
    conversation_id: str  # who is asking (the chat sender / conversation): the rate-limit key
    order_number: str
    email: str | None = None
    channel: str | None = None  # a chat identity (channel, external_id) linked to the customer
    external_id: str | None = None


class Access(str, enum.Enum):
    GRANTED = "granted"
    DENIED = "denied"  # wrong or missing proof, or no such order: deliberately indistinguishable
    RATE_LIMITED = "rate_limited"


class AccessDenied(PermissionError):
    def __init__(self, access: Access) -> None:
        super().__init__(access.value)
        self.access = access


@dataclass(frozen=True)
class LineStatus:
    line_id: int
    sku: str
    quantity: int
    unit_price: Decimal
    status: OrderLineStatus
    expected: dt.date | None  # for waiting_stock: the earliest open purchase order's date


@dataclass(frozen=True)
class OrderView:
    order_id: int
    number: str
    status: OrderStatus
    currency: str
    lines: tuple[LineStatus, ...]

    @property
    def cancellable(self) -> tuple[LineStatus, ...]:
        return tuple(line for line in self.lines if line.status in CANCELLABLE_LINES)

    @property
    def waiting(self) -> tuple[LineStatus, ...]:
        """Lines waiting for stock (out of stock when ordered)."""
        return tuple(line for line in self.lines if line.status == OrderLineStatus.WAITING_STOCK)

    @property
    def cancelled(self) -> tuple[LineStatus, ...]:
        return tuple(line for line in self.lines if line.status == OrderLineStatus.CANCELLED)


@dataclass(frozen=True)
class CancelResult:
    order_id: int
    cancelled: tuple[LineStatus, ...]
    kept: tuple[LineStatus, ...]  # shipped lines cannot be cancelled
    amount: Decimal  # the price of the lines cancelled now (refund or credit comes next)


def verify(uow: UnitOfWork, proof: OrderProof, now: dt.datetime | None = None) -> tuple[Access, Order | None]:
    """Check the proof inside the caller's open unit of work (call after `uow.begin_write()`)."""
    now = now or utcnow()
    number = normalise_order_number(proof.order_number)
    conversation = (proof.conversation_id or "").strip()[:200] or "anonymous"
    since = now - WINDOW
    failures = Failures(
        by_conversation=_failures(uow, OrderAccessAttempt.conversation_id == conversation, since),
        by_order_number=_failures(uow, OrderAccessAttempt.order_number == number, since),
    )
    if is_rate_limited(failures):
        uow.session.add(OrderAccessAttempt(conversation_id=conversation, order_number=number, succeeded=False,
                                           created_at=now))
        return Access.RATE_LIMITED, None
    order = uow.session.execute(select(Order).where(Order.number == number)).scalar_one_or_none() if number else None
    ok = order is not None and _proof_matches(uow, order, proof)
    uow.session.add(OrderAccessAttempt(conversation_id=conversation, order_number=number, succeeded=ok, created_at=now))
    return (Access.GRANTED, order) if ok else (Access.DENIED, None)


def _failures(uow: UnitOfWork, who, since: dt.datetime) -> int:
    return int(uow.session.execute(select(func.count()).select_from(OrderAccessAttempt).where(
        who, OrderAccessAttempt.succeeded.is_(False), OrderAccessAttempt.created_at > since)).scalar_one())


def _proof_matches(uow: UnitOfWork, order: Order, proof: OrderProof) -> bool:
    if proof.email is not None and normalise_email(proof.email):
        return normalise_email(proof.email) == normalise_email(order.email)
    if proof.channel and proof.external_id:
        owner = uow.session.execute(select(ChannelIdentity.customer_id).where(
            ChannelIdentity.channel == proof.channel.strip()[:32],
            ChannelIdentity.external_id == proof.external_id.strip()[:200])).scalar_one_or_none()
        return owner is not None and owner == order.customer_id
    return False


def verified_order(uow: UnitOfWork, proof: OrderProof, now: dt.datetime | None) -> Order:
    """The proven order, inside the caller's write transaction; raises AccessDenied."""
    access, order = verify(uow, proof, now)
    if order is None:
        uow.commit()  # the failed attempt must count even though we refuse
        raise AccessDenied(access)
    return order


def check_access(uow: UnitOfWork, proof: OrderProof, now: dt.datetime | None = None) -> Access:
    """Only the verdict (for a chat turn that asks for proof before anything else)."""
    with uow:
        uow.begin_write()
        access, _ = verify(uow, proof, now)
        uow.commit()
        return access


def order_status(uow: UnitOfWork, proof: OrderProof, now: dt.datetime | None = None) -> OrderView:
    """Status of every line, with the expected date for lines waiting for stock. Raises AccessDenied."""
    with uow:
        uow.begin_write()
        order = verified_order(uow, proof, now)
        view = _status(uow, order)
        uow.commit()
        return view


def _status(uow: UnitOfWork, order: Order) -> OrderView:
    lines = uow.session.execute(select(OrderLine, Variant.sku).join(Variant, OrderLine.variant_id == Variant.id)
                                .where(OrderLine.order_id == order.id).order_by(OrderLine.id)).all()
    incoming = uow.promises.open_lines(line.variant_id for line, _ in lines)
    return OrderView(order.id, order.number, OrderStatus(order.status), order.currency, tuple(
        LineStatus(line.id, sku, line.quantity, line.unit_price, OrderLineStatus(line.status),
                   earliest_eta(o for o in incoming if o.variant_id == line.variant_id)
                   if line.status == OrderLineStatus.WAITING_STOCK else None)
        for line, sku in lines))


def cancel_order(uow: UnitOfWork, proof: OrderProof, only_out_of_stock: bool = False,
                 now: dt.datetime | None = None) -> CancelResult:
    """Cancel the whole order (every line not shipped yet) or only its lines waiting for stock."""
    with uow:
        uow.begin_write()
        order = verified_order(uow, proof, now)
        order = uow.session.execute(select(Order).where(Order.id == order.id).with_for_update()).scalar_one()
        before = _status(uow, order)
        lines = {line.id: line for line in order.lines}
        cancelled = before.waiting if only_out_of_stock else before.cancellable
        for view in cancelled:
            lines[view.line_id].status = OrderLineStatus.CANCELLED
        if all(line.status == OrderLineStatus.CANCELLED for line in order.lines):
            order.status = OrderStatus.CANCELLED
        uow.session.flush()
        kept = tuple(v for v in before.lines if v.status == OrderLineStatus.SHIPPED and not only_out_of_stock)
        amount = cents(sum((v.unit_price * v.quantity for v in cancelled), Decimal("0")))
        uow.commit()
        return CancelResult(order.id, tuple(cancelled), kept, amount)
