"""Queries and row locks behind stock, reservations, holds and alerts.

Two derived quantities are defined here once and read by everything else:
- available to sell (`available_query`): per location max(0, on_hand - reserved -
  safety_stock), summed, minus units promised to named customers (unexpired restock holds
  and pre-order units allocated on arrival), floored at 0. Never stored.
- an open purchase-order line (`open_lines`): an open line of an open purchase order,
  with the units still to arrive and those already pre-ordered on it.

Everything "free to promise" is computed from rows at the moment of deciding, inside the
caller's transaction, after the caller locked the variant (`lock_variants`): on
PostgreSQL a row lock (SELECT ... FOR UPDATE), on SQLite the BEGIN IMMEDIATE of
`UnitOfWork.begin_write` already serialises writers.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from catalog.db.orm import PurchaseOrder, PurchaseOrderLine, Reservation, StockHold, StockLevel, Supplier, Variant
from catalog.domain.reservations import OpenLine
from catalog.domain.statuses import LIVE_RESERVATIONS, HoldStatus, PurchaseOrderStatus, ReservationStatus


def available_query(now: dt.datetime, variant_ids: Collection[int] | None = None) -> Select:
    """(variant id, available to sell) for the given variants, or for every variant."""
    free = StockLevel.on_hand - StockLevel.reserved - StockLevel.safety_stock
    shelf = select(StockLevel.variant_id.label("vid"), func.sum(case((free > 0, free), else_=0)).label("units"))
    holds = (select(StockHold.variant_id.label("vid"), func.sum(StockHold.quantity).label("units"))
             .where(StockHold.status == HoldStatus.ACTIVE, StockHold.expires_at > now))
    allocated = (select(Reservation.variant_id.label("vid"), func.sum(Reservation.quantity_allocated).label("units"))
                 .where(Reservation.status.in_(LIVE_RESERVATIONS)))
    variants = select(Variant.id)
    if variant_ids is not None:
        ids = list(variant_ids)
        shelf = shelf.where(StockLevel.variant_id.in_(ids))
        holds = holds.where(StockHold.variant_id.in_(ids))
        allocated = allocated.where(Reservation.variant_id.in_(ids))
        variants = variants.where(Variant.id.in_(ids))
    shelf = shelf.group_by(StockLevel.variant_id).subquery()
    holds = holds.group_by(StockHold.variant_id).subquery()
    allocated = allocated.group_by(Reservation.variant_id).subquery()
    raw = func.coalesce(shelf.c.units, 0) - func.coalesce(holds.c.units, 0) - func.coalesce(allocated.c.units, 0)
    return (variants.add_columns(case((raw > 0, raw), else_=0).label("available"))
            .outerjoin(shelf, shelf.c.vid == Variant.id)
            .outerjoin(holds, holds.c.vid == Variant.id)
            .outerjoin(allocated, allocated.c.vid == Variant.id))


class PromiseRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def lock_variants(self, variant_ids: Iterable[int]) -> list[Variant]:
        """Lock variants in id order (a fixed order, so two transactions never deadlock)."""
        ids = sorted(set(variant_ids))
        if not ids:
            return []
        return list(self.session.execute(
            select(Variant).where(Variant.id.in_(ids)).order_by(Variant.id).with_for_update()
        ).scalars())

    def available(self, variant_ids: Iterable[int], now: dt.datetime) -> dict[int, int]:
        """Available to sell per variant (0 for unknown ids)."""
        ids = set(variant_ids)
        out: dict[int, int] = defaultdict(int)
        if ids:
            out.update((vid, int(units)) for vid, units in self.session.execute(available_query(now, ids)))
        return out

    def open_lines(self, variant_ids: Iterable[int]) -> list[OpenLine]:
        """Open lines of open purchase orders for these variants, earliest first, with the
        units already pre-ordered on each."""
        ids = list(set(variant_ids))
        if not ids:
            return []
        rows = self.session.execute(
            select(PurchaseOrderLine.id, PurchaseOrderLine.variant_id, PurchaseOrderLine.eta, PurchaseOrderLine.quantity,
                   PurchaseOrderLine.quantity_received, Supplier.name, PurchaseOrder.reference)
            .join(PurchaseOrder, PurchaseOrderLine.purchase_order_id == PurchaseOrder.id)
            .join(Supplier, PurchaseOrder.supplier_id == Supplier.id)
            .where(PurchaseOrderLine.variant_id.in_(ids), PurchaseOrderLine.status == PurchaseOrderStatus.OPEN,
                   PurchaseOrder.status == PurchaseOrderStatus.OPEN)
            .order_by(PurchaseOrderLine.eta, PurchaseOrderLine.id)
        ).all()
        promised = self.waiting_by_line([row[0] for row in rows])
        return [OpenLine(lid, vid, eta, qty - received, promised.get(lid, 0), supplier, reference)
                for lid, vid, eta, qty, received, supplier, reference in rows]

    def waiting_by_line(self, line_ids: list[int]) -> dict[int, int]:
        """Units of active reservations not yet allocated, per purchase-order line."""
        if not line_ids:
            return {}
        return {lid: int(q or 0) for lid, q in self.session.execute(
            select(Reservation.purchase_order_line_id, func.sum(Reservation.quantity - Reservation.quantity_allocated))
            .where(Reservation.purchase_order_line_id.in_(line_ids), Reservation.status == ReservationStatus.ACTIVE)
            .group_by(Reservation.purchase_order_line_id)
        )}

    def customer_units(self, customer_id: int, variant_id: int) -> int:
        """Units this customer already has reserved on a variant (for the per-customer cap)."""
        return int(self.session.execute(select(func.coalesce(func.sum(Reservation.quantity), 0)).where(
            Reservation.customer_id == customer_id, Reservation.variant_id == variant_id,
            Reservation.status.in_(LIVE_RESERVATIONS))).scalar_one())

    def waiting_ids(self, variant_id: int, line_id: int | None) -> list[int]:
        """Ids of active reservations queued on one source: a purchase-order line, or (None)
        the variant's backorders."""
        query = select(Reservation.id).where(Reservation.status == ReservationStatus.ACTIVE,
                                             Reservation.variant_id == variant_id)
        if line_id is not None:
            query = query.where(Reservation.purchase_order_line_id == line_id)
        else:
            query = query.where(Reservation.purchase_order_line_id.is_(None))
        return list(self.session.execute(query.order_by(Reservation.id)).scalars())
