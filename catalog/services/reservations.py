"""Pre-orders and backorders: quote, reserve, show, change, cancel.

The check-then-insert is atomic: the variant row is locked first (PostgreSQL
SELECT ... FOR UPDATE; SQLite BEGIN IMMEDIATE), then the free incoming units and the
customer's cap are read and the reservation inserted in the same transaction. When
50 customers race for 10 incoming units, exactly 10 units are reserved; the others get
a SOLD_OUT result that offers a backorder (where allowed), a restock alert, or in-stock
variants of the same product.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from catalog.db.orm import Reservation, SupplierOffer, Supplier, Variant, utcnow
from catalog.domain.ledger import cents
from catalog.domain.reservations import (
    SLIP_POLICY,
    Kind,
    backorder_eta,
    cap_remaining,
    pick_line,
    place_text,
    quantity_problem,
    queue_position,
    within_cap,
)
from catalog.uow import UnitOfWork


class Outcome(str, enum.Enum):
    RESERVED = "reserved"
    CAN_RESERVE = "can_reserve"  # quote(): this is what confirming would give
    SOLD_OUT = "sold_out"  # nothing left to promise; see `alternatives`
    IN_STOCK = "in_stock"  # on the shelf now: buy it, no reservation needed
    OVER_CAP = "over_cap"  # more than max_per_customer
    NOT_ALLOWED = "not_allowed"  # this item cannot be pre-ordered / backordered
    INVALID = "invalid"  # bad quantity or unknown item
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
    kind: Kind
    quantity: int
    unit_price: Decimal
    total: Decimal
    currency: str
    expected: dt.date | None
    position: int  # the place in line they would get
    slip_policy: str = SLIP_POLICY


@dataclass(frozen=True)
class ReservationView:
    id: int
    sku: str
    kind: Kind
    quantity: int
    quantity_allocated: int
    status: str
    position: int | None  # None once allocated
    expected: dt.date | None
    unit_price: Decimal
    currency: str

    @property
    def text(self) -> str:
        return place_text(self.position, self.expected) if self.position else "your units are set aside for you"


@dataclass(frozen=True)
class ReservationResult:
    outcome: Outcome
    message: str
    reservation: ReservationView | None = None
    summary: Summary | None = None
    alternatives: Alternatives | None = None
    cap_left: int | None = None
    extra: dict = field(default_factory=dict)


def quote(uow: UnitOfWork, customer_id: int, sku: str, quantity: int, kind: Kind = Kind.PREORDER,
          today: dt.date | None = None) -> ReservationResult:
    """The confirmation summary (price, expected date, place in line, slip policy); writes nothing."""
    with uow:
        return _decide(uow, customer_id, sku, quantity, Kind(kind), today or dt.date.today(), write=False)


def reserve(uow: UnitOfWork, customer_id: int, sku: str, quantity: int, kind: Kind = Kind.PREORDER,
            today: dt.date | None = None, idempotency_key: str | None = None) -> ReservationResult:
    """Make the reservation the customer confirmed. A repeated `idempotency_key` returns the first result."""
    today = today or dt.date.today()
    key = idempotency_key.strip()[:120] if idempotency_key else None
    if key:
        existing = _by_key(uow, customer_id, key)
        if existing is not None:
            return existing
    try:
        with uow:
            uow.begin_write()
            result = _decide(uow, customer_id, sku, quantity, Kind(kind), today, write=True, key=key)
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
        view = _view(uow, r)
        return ReservationResult(Outcome.RESERVED, f"Already reserved: {view.text}.", reservation=view)


def _decide(uow: UnitOfWork, customer_id: int, sku: str, quantity: int, kind: Kind, today: dt.date,
            write: bool, key: str | None = None) -> ReservationResult:
    problem = quantity_problem(quantity)
    if problem:
        return ReservationResult(Outcome.INVALID, problem.capitalize() + ".")
    sku_key = (sku or "").strip().upper()[:64]
    vid = uow.session.execute(select(Variant.id).where(Variant.sku_key == sku_key)).scalar_one_or_none()
    if vid is None:
        return ReservationResult(Outcome.INVALID, "I couldn't find that item.")
    (variant,) = uow.promises.lock_variants([vid]) if write else [uow.session.get(Variant, vid)]
    now = utcnow()
    already = uow.promises.customer_units(customer_id, variant.id)
    if not within_cap(variant.max_per_customer, already, quantity):
        left = cap_remaining(variant.max_per_customer, already)
        return ReservationResult(Outcome.OVER_CAP, f"You can reserve at most {variant.max_per_customer} of this item "
                                 f"per customer; {left} more for you.", cap_left=left)
    if uow.promises.available([variant.id], now).get(variant.id, 0) >= quantity:
        return ReservationResult(Outcome.IN_STOCK, "Good news: it's in stock now, no reservation needed.")
    if kind is Kind.PREORDER:
        if not variant.preorder_allowed:
            return _sold_out(uow, variant, now, "This item can't be pre-ordered.", Outcome.NOT_ALLOWED)
        line = pick_line(uow.promises.line_capacities(variant.id), quantity)
        if line is None:
            return _sold_out(uow, variant, now, "Sorry, every incoming unit is already promised.")
        line_id, expected = line.line_id, line.eta
        ahead = len([rid for rid in uow.promises.waiting_ids(_probe(variant.id, line_id))])
    else:
        if not variant.backorder_allowed:
            return _sold_out(uow, variant, now, "This item can't be backordered.", Outcome.NOT_ALLOWED)
        line_id, expected = None, backorder_eta(today, _lead_time(uow, variant.id))
        ahead = len(uow.promises.waiting_ids(_probe(variant.id, None)))
    summary = Summary(variant.sku, kind, quantity, variant.price, cents(variant.price * quantity), variant.currency,
                      expected, ahead + 1)
    if not write:
        return ReservationResult(Outcome.CAN_RESERVE, "Please confirm.", summary=summary)
    r = Reservation(variant_id=variant.id, customer_id=customer_id, purchase_order_line_id=line_id, kind=kind.value,
                    quantity=quantity, quantity_allocated=0, status="active", unit_price=variant.price,
                    currency=variant.currency, promised_eta=expected, idempotency_key=key, created_at=now, updated_at=now)
    uow.session.add(r)
    uow.session.flush()
    view = _view(uow, r)
    return ReservationResult(Outcome.RESERVED, f"Reserved: {view.text}.", reservation=view, summary=summary)


def _probe(variant_id: int, line_id: int | None) -> Reservation:
    """A stand-in reservation for "who is queued on this source" before ours exists."""
    return Reservation(id=0, variant_id=variant_id, purchase_order_line_id=line_id)


def _lead_time(uow: UnitOfWork, variant_id: int) -> int | None:
    row = uow.session.execute(
        select(SupplierOffer.lead_time_days, Supplier.lead_time_days)
        .join(Supplier, SupplierOffer.supplier_id == Supplier.id)
        .where(SupplierOffer.variant_id == variant_id).order_by(SupplierOffer.is_primary.desc())
    ).first()
    if row is None:
        return None
    return row[0] if row[0] is not None else row[1]


def _sold_out(uow: UnitOfWork, variant: Variant, now: dt.datetime, message: str,
              outcome: Outcome = Outcome.SOLD_OUT) -> ReservationResult:
    siblings = uow.session.execute(select(Variant.id, Variant.sku).where(
        Variant.product_id == variant.product_id, Variant.id != variant.id).order_by(Variant.id)).all()
    available = uow.promises.available([vid for vid, _ in siblings], now)
    subs = tuple(sku for vid, sku in siblings if available.get(vid, 0) > 0)[:5]
    alternatives = Alternatives(backorder=variant.backorder_allowed, restock_alert=True, substitutes=subs)
    offers = ["a restock alert"]
    if variant.backorder_allowed:
        offers.insert(0, "a backorder")
    if subs:
        offers.append("a similar item in stock")
    return ReservationResult(outcome, f"{message} I can offer {', '.join(offers[:-1]) + ' or ' if len(offers) > 1 else ''}"
                             f"{offers[-1]}.", alternatives=alternatives)


def _view(uow: UnitOfWork, r: Reservation) -> ReservationView:
    sku = uow.session.execute(select(Variant.sku).where(Variant.id == r.variant_id)).scalar_one()
    position = queue_position(uow.promises.waiting_ids(r), r.id) if r.status == "active" else None
    return ReservationView(r.id, sku, Kind(r.kind), r.quantity, r.quantity_allocated, r.status, position,
                           r.promised_eta, r.unit_price, r.currency)


def list_reservations(uow: UnitOfWork, customer_id: int) -> list[ReservationView]:
    """The customer's live reservations with their place in line and expected date."""
    with uow:
        rows = uow.session.execute(select(Reservation).where(
            Reservation.customer_id == customer_id, Reservation.status.in_(("active", "allocated"))
        ).order_by(Reservation.id)).scalars().all()
        return [_view(uow, r) for r in rows]


def change_quantity(uow: UnitOfWork, customer_id: int, reservation_id: int, quantity: int) -> ReservationResult:
    """Change how many units; fewer always works, more only if units and the cap allow. Keeps the place in line."""
    problem = quantity_problem(quantity)
    if problem:
        return ReservationResult(Outcome.INVALID, problem.capitalize() + ".")
    with uow:
        uow.begin_write()
        r = _own(uow, customer_id, reservation_id)
        if r is None or r.status != "active":
            return ReservationResult(Outcome.NOT_FOUND, "I couldn't find that reservation of yours.")
        (variant,) = uow.promises.lock_variants([r.variant_id])
        uow.session.refresh(r)
        if quantity < r.quantity_allocated:
            return ReservationResult(Outcome.INVALID, f"{r.quantity_allocated} units are already set aside for you.")
        extra = quantity - r.quantity
        if extra > 0:
            if not within_cap(variant.max_per_customer, uow.promises.customer_units(customer_id, variant.id), extra):
                return ReservationResult(Outcome.OVER_CAP, f"You can reserve at most {variant.max_per_customer} of this "
                                         "item per customer.")
            if r.purchase_order_line_id is not None:
                line = next((c for c in uow.promises.line_capacities(variant.id) if c.line_id == r.purchase_order_line_id), None)
                if line is None or line.free < extra:
                    return _sold_out(uow, variant, utcnow(), "Sorry, there aren't that many incoming units left.")
        r.quantity = quantity
        r.updated_at = utcnow()
        uow.session.flush()
        view = _view(uow, r)
        uow.commit()
        return ReservationResult(Outcome.RESERVED, f"Changed to {quantity}: {view.text}.", reservation=view)


def cancel_reservation(uow: UnitOfWork, customer_id: int, reservation_id: int) -> ReservationResult:
    """Cancel one's own reservation; units already set aside go back on sale (and to alert subscribers)."""
    from catalog.services.alerts import alert_in_session

    with uow:
        uow.begin_write()
        r = _own(uow, customer_id, reservation_id)
        if r is None or r.status not in ("active", "allocated"):
            return ReservationResult(Outcome.NOT_FOUND, "I couldn't find that reservation of yours.")
        uow.promises.lock_variants([r.variant_id])
        uow.session.refresh(r)
        r.status, r.updated_at = "cancelled", utcnow()
        uow.session.flush()
        if r.quantity_allocated:
            alert_in_session(uow, [r.variant_id], utcnow())
        view = _view(uow, r)
        uow.commit()
        return ReservationResult(Outcome.RESERVED, "Your reservation is cancelled.", reservation=view)


def _own(uow: UnitOfWork, customer_id: int, reservation_id: int) -> Reservation | None:
    if isinstance(reservation_id, bool) or not isinstance(reservation_id, int):
        return None
    r = uow.session.get(Reservation, reservation_id)
    return r if r is not None and r.customer_id == customer_id else None
