"""Pre-orders and backorders: quote, reserve, show, change, cancel.

The check-then-insert is atomic: the variant row is locked first (PostgreSQL
SELECT ... FOR UPDATE; SQLite BEGIN IMMEDIATE), then the free incoming units and the
customer's cap are read and the reservation inserted in the same transaction. When
50 customers race for 10 incoming units, exactly 10 units are reserved; the others get
a SOLD_OUT result that offers a backorder (where allowed), a restock alert, or in-stock
variants of the same product.

Results are outcomes and data; catalog.wording.preorders says them.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from catalog.db.orm import Reservation, Variant
from catalog.clock import utcnow
from catalog.domain.ledger import cents
from catalog.domain.reservations import (
    QuantityProblem,
    backorder_eta,
    cap_remaining,
    pick_line,
    quantity_problem,
    queue_position,
    within_cap,
)
from catalog.domain.statuses import LIVE_RESERVATIONS, ReservationKind, ReservationStatus
from catalog.domain.stock import usual_lead_time
from catalog.uow import UnitOfWork


class Outcome(enum.Enum):
    RESERVED = "reserved"
    ALREADY_RESERVED = "already_reserved"  # the same request again (same idempotency key)
    CAN_RESERVE = "can_reserve"  # quote(): this is what confirming would give
    CHANGED = "changed"
    CANCELLED = "cancelled"
    SOLD_OUT = "sold_out"  # nothing left to promise; see `alternatives`
    NOT_ENOUGH_INCOMING = "not_enough_incoming"  # a change asks for more than the delivery has free
    IN_STOCK = "in_stock"  # on the shelf now: buy it, no reservation needed
    OVER_CAP = "over_cap"  # more than max_per_customer
    NOT_ALLOWED = "not_allowed"  # this item cannot be pre-ordered / backordered (`kind` says which)
    BAD_QUANTITY = "bad_quantity"  # see `problem`
    BELOW_ALLOCATED = "below_allocated"  # fewer than the units already set aside
    UNKNOWN_ITEM = "unknown_item"
    NOT_FOUND = "not_found"  # no such reservation of this customer


@dataclass(frozen=True)
class Alternatives:
    backorder: bool
    restock_alert: bool
    substitutes: tuple[str, ...]  # skus of other variants of the product on the shelf now


@dataclass(frozen=True)
class Summary:
    """What the customer confirms before a reservation is made."""

    sku: str
    kind: ReservationKind
    quantity: int
    unit_price: Decimal
    total: Decimal
    currency: str
    expected: dt.date | None
    position: int  # the place in line they would get


@dataclass(frozen=True)
class ReservationView:
    id: int
    sku: str
    kind: ReservationKind
    quantity: int
    quantity_allocated: int
    status: ReservationStatus
    position: int | None  # None once allocated
    expected: dt.date | None
    unit_price: Decimal
    currency: str


@dataclass(frozen=True)
class ReservationResult:
    outcome: Outcome
    reservation: ReservationView | None = None
    summary: Summary | None = None
    alternatives: Alternatives | None = None
    kind: ReservationKind | None = None  # what was asked for (NOT_ALLOWED)
    cap: int | None = None  # max_per_customer (OVER_CAP)
    cap_left: int | None = None
    problem: QuantityProblem | None = None  # BAD_QUANTITY
    allocated: int | None = None  # BELOW_ALLOCATED


def quote(uow: UnitOfWork, customer_id: int, sku: str, quantity: int,
          kind: ReservationKind = ReservationKind.PREORDER, *, today: dt.date,
          now: dt.datetime | None = None) -> ReservationResult:
    """The confirmation summary (price, expected date, place in line); writes nothing."""
    with uow:
        return _decide(uow, customer_id, sku, quantity, ReservationKind(kind), today, now or utcnow(), write=False)


def reserve(uow: UnitOfWork, customer_id: int, sku: str, quantity: int,
            kind: ReservationKind = ReservationKind.PREORDER, *, today: dt.date,
            idempotency_key: str | None = None, now: dt.datetime | None = None) -> ReservationResult:
    """Make the reservation the customer confirmed. A repeated `idempotency_key` returns the first result."""
    key = idempotency_key.strip()[:120] if idempotency_key else None
    if key:
        existing = _by_key(uow, customer_id, key)
        if existing is not None:
            return existing
    try:
        with uow:
            uow.begin_write()
            result = _decide(uow, customer_id, sku, quantity, ReservationKind(kind), today, now or utcnow(),
                             write=True, key=key)
            uow.commit()
            return result
    except IntegrityError:
        if key:  # the same request raced itself: the winner's reservation is the answer
            existing = _by_key(uow, customer_id, key)
            if existing is not None:
                return existing
        raise


def _by_key(uow: UnitOfWork, customer_id: int, key: str) -> ReservationResult | None:
    with uow:
        r = uow.session.execute(select(Reservation).where(Reservation.idempotency_key == key)).scalar_one_or_none()
        if r is None or r.customer_id != customer_id:
            return None
        return ReservationResult(Outcome.ALREADY_RESERVED, reservation=_view(uow, r))


def _decide(uow: UnitOfWork, customer_id: int, sku: str, quantity: int, kind: ReservationKind, today: dt.date,
            now: dt.datetime, write: bool, key: str | None = None) -> ReservationResult:
    problem = quantity_problem(quantity)
    if problem:
        return ReservationResult(Outcome.BAD_QUANTITY, problem=problem)
    vid = uow.catalog.variant_id_for_sku(sku)
    if vid is None:
        return ReservationResult(Outcome.UNKNOWN_ITEM)
    (variant,) = uow.promises.lock_variants([vid]) if write else [uow.session.get(Variant, vid)]
    already = uow.promises.customer_units(customer_id, variant.id)
    if not within_cap(variant.max_per_customer, already, quantity):
        return ReservationResult(Outcome.OVER_CAP, cap=variant.max_per_customer,
                                 cap_left=cap_remaining(variant.max_per_customer, already))
    if uow.promises.available([variant.id], now)[variant.id] >= quantity:
        return ReservationResult(Outcome.IN_STOCK)
    if kind is ReservationKind.PREORDER:
        if not variant.preorder_allowed:
            return _sold_out(uow, variant, now, Outcome.NOT_ALLOWED, kind)
        line = pick_line(uow.promises.open_lines([variant.id]), quantity)
        if line is None:
            return _sold_out(uow, variant, now, Outcome.SOLD_OUT, kind)
        line_id, expected = line.line_id, line.eta
    else:
        if not variant.backorder_allowed:
            return _sold_out(uow, variant, now, Outcome.NOT_ALLOWED, kind)
        line_id = None
        expected = backorder_eta(today, usual_lead_time(uow.catalog.offers_by_variant([variant.id])[variant.id]))
    ahead = len(uow.promises.waiting_ids(variant.id, line_id))
    summary = Summary(variant.sku, kind, quantity, variant.price, cents(variant.price * quantity), variant.currency,
                      expected, ahead + 1)
    if not write:
        return ReservationResult(Outcome.CAN_RESERVE, summary=summary)
    r = Reservation(variant_id=variant.id, customer_id=customer_id, purchase_order_line_id=line_id, kind=kind,
                    quantity=quantity, quantity_allocated=0, status=ReservationStatus.ACTIVE, unit_price=variant.price,
                    currency=variant.currency, promised_eta=expected, idempotency_key=key, created_at=now, updated_at=now)
    uow.session.add(r)
    uow.session.flush()
    return ReservationResult(Outcome.RESERVED, reservation=_view(uow, r), summary=summary)


def _sold_out(uow: UnitOfWork, variant: Variant, now: dt.datetime, outcome: Outcome,
              kind: ReservationKind | None = None) -> ReservationResult:
    """Nothing to promise: what the customer can have instead."""
    siblings = uow.session.execute(select(Variant.id, Variant.sku).where(
        Variant.product_id == variant.product_id, Variant.id != variant.id).order_by(Variant.id)).all()
    available = uow.promises.available([vid for vid, _ in siblings], now)
    subs = tuple(sku for vid, sku in siblings if available[vid] > 0)[:5]
    return ReservationResult(outcome, kind=kind, alternatives=Alternatives(
        backorder=variant.backorder_allowed, restock_alert=True, substitutes=subs))


def _view(uow: UnitOfWork, r: Reservation) -> ReservationView:
    sku = uow.session.execute(select(Variant.sku).where(Variant.id == r.variant_id)).scalar_one()
    active = r.status == ReservationStatus.ACTIVE
    position = queue_position(uow.promises.waiting_ids(r.variant_id, r.purchase_order_line_id), r.id) if active else None
    return ReservationView(r.id, sku, ReservationKind(r.kind), r.quantity, r.quantity_allocated,
                           ReservationStatus(r.status), position, r.promised_eta, r.unit_price, r.currency)


def list_reservations(uow: UnitOfWork, customer_id: int) -> list[ReservationView]:
    """The customer's live reservations with their place in line and expected date."""
    with uow:
        rows = uow.session.execute(select(Reservation).where(
            Reservation.customer_id == customer_id, Reservation.status.in_(LIVE_RESERVATIONS)
        ).order_by(Reservation.id)).scalars().all()
        return [_view(uow, r) for r in rows]


def change_quantity(uow: UnitOfWork, customer_id: int, reservation_id: int, quantity: int,
                    now: dt.datetime | None = None) -> ReservationResult:
    """Change how many units; fewer always works, more only if units and the cap allow. Keeps the place in line."""
    problem = quantity_problem(quantity)
    if problem:
        return ReservationResult(Outcome.BAD_QUANTITY, problem=problem)
    now = now or utcnow()
    with uow:
        uow.begin_write()
        r = _own(uow, customer_id, reservation_id)
        if r is None or r.status != ReservationStatus.ACTIVE:
            return ReservationResult(Outcome.NOT_FOUND)
        (variant,) = uow.promises.lock_variants([r.variant_id])
        uow.session.refresh(r)
        if quantity < r.quantity_allocated:
            return ReservationResult(Outcome.BELOW_ALLOCATED, allocated=r.quantity_allocated)
        extra = quantity - r.quantity
        if extra > 0:
            already = uow.promises.customer_units(customer_id, variant.id)
            if not within_cap(variant.max_per_customer, already, extra):
                return ReservationResult(Outcome.OVER_CAP, cap=variant.max_per_customer,
                                         cap_left=cap_remaining(variant.max_per_customer, already))
            if r.purchase_order_line_id is not None:
                line = next((c for c in uow.promises.open_lines([variant.id]) if c.line_id == r.purchase_order_line_id),
                            None)
                if line is None or line.free < extra:
                    return _sold_out(uow, variant, now, Outcome.NOT_ENOUGH_INCOMING)
        r.quantity = quantity
        r.updated_at = now
        uow.session.flush()
        view = _view(uow, r)
        uow.commit()
        return ReservationResult(Outcome.CHANGED, reservation=view)


def cancel_reservation(uow: UnitOfWork, customer_id: int, reservation_id: int,
                       now: dt.datetime | None = None) -> ReservationResult:
    """Cancel one's own reservation; units already set aside go back on sale (and to alert subscribers)."""
    from catalog.services.alerts import alert_in_session

    now = now or utcnow()
    with uow:
        uow.begin_write()
        r = _own(uow, customer_id, reservation_id)
        if r is None or r.status not in LIVE_RESERVATIONS:
            return ReservationResult(Outcome.NOT_FOUND)
        uow.promises.lock_variants([r.variant_id])
        uow.session.refresh(r)
        r.status, r.updated_at = ReservationStatus.CANCELLED, now
        uow.session.flush()
        if r.quantity_allocated:
            alert_in_session(uow, [r.variant_id], now)
        view = _view(uow, r)
        uow.commit()
        return ReservationResult(Outcome.CANCELLED, reservation=view)


def _own(uow: UnitOfWork, customer_id: int, reservation_id: int) -> Reservation | None:
    if isinstance(reservation_id, bool) or not isinstance(reservation_id, int):
        return None
    r = uow.session.get(Reservation, reservation_id)
    return r if r is not None and r.customer_id == customer_id else None
