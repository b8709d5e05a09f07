"""Purchase orders arriving and running late.

`receive_purchase_order` books the delivery (on_hand up, one movement per line),
allocates the new units to waiting pre-orders of each line and then to backorders of
the variant, first come first served, and finally alerts restock subscribers for
whatever is still free: all in one transaction, so the outbox holds exactly the
alerts for units that really exist. `set_eta` moves a purchase order's date and
queues a delay notice for every reservation whose promised date it passes (to the
customer's chat, else their email address, where it waits until email can be sent).
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

from sqlalchemy import select

from catalog.db.bulk_import import main_location_id
from catalog.db.orm import (
    ChannelIdentity,
    Customer,
    PurchaseOrder,
    PurchaseOrderLine,
    Reservation,
    StockLevel,
    StockMovement,
    Variant,
)
from catalog.clock import utcnow
from catalog.domain.products import sku_key
from catalog.domain.statuses import Channel, MessageKind, PurchaseOrderStatus, ReservationStatus
from catalog.services.alerts import alert_in_session, allocate_waiting
from catalog.services.outbox import enqueue_many, enqueue_values
from catalog.uow import UnitOfWork


class PurchaseProblem(enum.Enum):
    NO_SUCH_ORDER = "no_such_order"
    NOT_OPEN = "not_open"  # received or cancelled already (`status`)
    NO_OPEN_LINES = "no_open_lines"
    NOT_ON_ORDER = "not_on_order"  # skus that are not lines of the order (`skus`)
    BAD_QUANTITY = "bad_quantity"  # not a whole number of at least 0 (`sku`)
    MORE_THAN_DUE = "more_than_due"  # `sku`, `units` received, `left` still due
    NOTHING_RECEIVED = "nothing_received"  # every quantity was 0
    BAD_DATE = "bad_date"


class PurchasingError(ValueError):
    """A purchase order cannot be changed as asked: `problem`, the order's `reference`, and
    the details the problem names (catalog.wording.purchasing says it)."""

    def __init__(self, problem: PurchaseProblem, reference: str = "", **details: object) -> None:
        super().__init__(problem.value)
        self.problem, self.reference, self.details = problem, reference, details


@dataclass
class ReceiveReport:
    reference: str
    received: dict[str, int] = field(default_factory=dict)  # sku -> units booked in
    allocated: int = 0  # units set aside for waiting pre-orders and backorders
    alerts_queued: int = 0
    po_status: PurchaseOrderStatus = PurchaseOrderStatus.OPEN


@dataclass
class EtaReport:
    reference: str
    old: dict[str, dt.date | None] = field(default_factory=dict)
    notices_queued: int = 0


def _lock_po(uow: UnitOfWork, reference: str) -> PurchaseOrder:
    ref = (reference or "").strip()[:100]
    po = uow.session.execute(select(PurchaseOrder).where(PurchaseOrder.reference == ref).with_for_update()).scalar_one_or_none()
    if po is None:
        raise PurchasingError(PurchaseProblem.NO_SUCH_ORDER, ref)
    if po.status != PurchaseOrderStatus.OPEN:
        raise PurchasingError(PurchaseProblem.NOT_OPEN, ref, status=po.status)
    return po


def receive_purchase_order(
    uow: UnitOfWork, reference: str, quantities: dict[str, int] | None = None, all_lines_qty: int | None = None,
    now: dt.datetime | None = None, hold_for: dt.timedelta | None = None,
) -> ReceiveReport:
    """Book in a delivery. Without quantities every open line arrives in full; `quantities`
    maps sku -> units for a partial delivery; `all_lines_qty` books N units on every line."""
    now = now or utcnow()
    with uow:
        uow.begin_write()
        po = _lock_po(uow, reference)
        lines = uow.session.execute(select(PurchaseOrderLine).where(
            PurchaseOrderLine.purchase_order_id == po.id, PurchaseOrderLine.status == PurchaseOrderStatus.OPEN
        ).order_by(PurchaseOrderLine.id)).scalars().all()
        if not lines:
            raise PurchasingError(PurchaseProblem.NO_OPEN_LINES, po.reference)
        variants = {v.id: v for v in uow.promises.lock_variants(line.variant_id for line in lines)}
        wanted = {sku_key(k): v for k, v in (quantities or {}).items()}
        unknown = set(wanted) - {variants[line.variant_id].sku_key for line in lines}
        if unknown:
            raise PurchasingError(PurchaseProblem.NOT_ON_ORDER, po.reference, skus=sorted(unknown))
        location = main_location_id(uow.session)
        report = ReceiveReport(po.reference)
        touched: list[int] = []
        for line in lines:
            variant = variants[line.variant_id]
            left = line.quantity - line.quantity_received
            units = wanted.get(variant.sku_key, all_lines_qty if all_lines_qty is not None else (0 if wanted else left))
            if isinstance(units, bool) or not isinstance(units, int) or units < 0:
                raise PurchasingError(PurchaseProblem.BAD_QUANTITY, po.reference, sku=variant.sku)
            if units > left:
                raise PurchasingError(PurchaseProblem.MORE_THAN_DUE, po.reference, sku=variant.sku, units=units,
                                      left=left)
            if units == 0:
                continue
            line.quantity_received += units
            if line.quantity_received == line.quantity:
                line.status = PurchaseOrderStatus.RECEIVED
            _add_on_hand(uow, variant.id, location, units, po.reference)
            report.received[variant.sku] = report.received.get(variant.sku, 0) + units
            report.allocated += _allocate(uow, variant.id, line.id, units)
            touched.append(variant.id)
        if not touched:
            raise PurchasingError(PurchaseProblem.NOTHING_RECEIVED, po.reference)
        if all(line.status != PurchaseOrderStatus.OPEN for line in lines):
            po.status = PurchaseOrderStatus.RECEIVED
        report.po_status = PurchaseOrderStatus(po.status)
        uow.session.flush()
        report.alerts_queued = alert_in_session(uow, touched, now, hold_for).alerts_queued
        uow.commit()
    return report


def _add_on_hand(uow: UnitOfWork, variant_id: int, location_id: int, units: int, reference: str) -> None:
    level = uow.session.execute(select(StockLevel).where(
        StockLevel.variant_id == variant_id, StockLevel.location_id == location_id).with_for_update()).scalar_one_or_none()
    if level is None:
        level = StockLevel(variant_id=variant_id, location_id=location_id, on_hand=0, reserved=0, safety_stock=0)
        uow.session.add(level)
    level.on_hand += units
    uow.session.add(StockMovement(variant_id=variant_id, location_id=location_id, on_hand_delta=units,
                                  reserved_delta=0, reason="po_receipt", reference=reference[:200]))


def _allocate(uow: UnitOfWork, variant_id: int, line_id: int, units: int) -> int:
    """Give arrived units to the line's pre-orders, first come first served.

    Units left over go on sale; `alert_in_session` then serves the variant's backorders
    before any restock alert."""
    return allocate_waiting(uow, Reservation.purchase_order_line_id == line_id, units)


def set_eta(uow: UnitOfWork, reference: str, new_eta: dt.date, now: dt.datetime | None = None) -> EtaReport:
    """Move every open line of a purchase order to `new_eta`; customers told an earlier
    date get a delay notice (wait, or cancel for a full refund) and their date is updated."""
    if not isinstance(new_eta, dt.date):
        raise PurchasingError(PurchaseProblem.BAD_DATE, reference)
    now = now or utcnow()
    with uow:
        uow.begin_write()
        po = _lock_po(uow, reference)
        lines = uow.session.execute(select(PurchaseOrderLine).where(
            PurchaseOrderLine.purchase_order_id == po.id,
            PurchaseOrderLine.status == PurchaseOrderStatus.OPEN)).scalars().all()
        if not lines:
            raise PurchasingError(PurchaseProblem.NO_OPEN_LINES, po.reference)
        report = EtaReport(po.reference)
        uow.promises.lock_variants(line.variant_id for line in lines)
        skus = dict(uow.session.execute(select(Variant.id, Variant.sku).where(
            Variant.id.in_([line.variant_id for line in lines]))).all())
        messages = []
        for line in lines:
            report.old[skus[line.variant_id]] = line.eta
            line.eta = new_eta
            late = uow.session.execute(select(Reservation).where(
                Reservation.purchase_order_line_id == line.id, Reservation.status == ReservationStatus.ACTIVE,
                (Reservation.promised_eta.is_(None)) | (Reservation.promised_eta < new_eta),
            ).order_by(Reservation.id)).scalars().all()
            for r in late:
                identity = uow.session.execute(select(ChannelIdentity.channel, ChannelIdentity.external_id).where(
                    ChannelIdentity.customer_id == r.customer_id).order_by(ChannelIdentity.id)).first()
                channel, recipient = identity if identity else (Channel.EMAIL, uow.session.execute(
                    select(Customer.email).where(Customer.id == r.customer_id)).scalar_one() or "")
                told = r.promised_eta
                messages.append(enqueue_values(
                    r.customer_id, channel, recipient, MessageKind.DELAY_NOTICE,
                    {"reservation_id": r.id, "sku": skus[line.variant_id], "new_eta": new_eta.isoformat(),
                     "previous_eta": told.isoformat() if told else None, "choices": ["wait", "cancel_full_refund"]},
                    f"delay:{r.id}:{new_eta.isoformat()}", now))
                r.promised_eta = new_eta
            # Good news needs no notice, but "show my reservations" must give the new date.
            for r in uow.session.execute(select(Reservation).where(
                    Reservation.purchase_order_line_id == line.id, Reservation.status == ReservationStatus.ACTIVE,
                    Reservation.promised_eta > new_eta)).scalars():
                r.promised_eta = new_eta
        report.notices_queued = enqueue_many(uow.session, messages)
        uow.commit()
    return report
