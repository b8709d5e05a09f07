"""Queries and row locks behind reservations, holds and alerts.

Everything "free to promise" is computed here from rows at the moment of deciding,
inside the caller's transaction, after the caller locked the variant
(`lock_variants`): on PostgreSQL a row lock (SELECT ... FOR UPDATE), on SQLite the
BEGIN IMMEDIATE of `UnitOfWork.begin_write` already serialises writers.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.db.orm import PurchaseOrder, PurchaseOrderLine, Reservation, StockHold, StockLevel, Variant
from catalog.domain.reservations import LineCapacity
from catalog.domain.stock import available_to_sell

LIVE = ("active", "allocated")  # reservation statuses that still promise units


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

    def held(self, variant_ids: Iterable[int], now: dt.datetime) -> dict[int, int]:
        """Units promised to named customers: unexpired holds plus allocated pre-order units."""
        ids = list(set(variant_ids))
        out: dict[int, int] = defaultdict(int)
        if not ids:
            return out
        for vid, qty in self.session.execute(
            select(StockHold.variant_id, func.sum(StockHold.quantity))
            .where(StockHold.variant_id.in_(ids), StockHold.status == "active", StockHold.expires_at > now)
            .group_by(StockHold.variant_id)
        ):
            out[vid] += int(qty or 0)
        for vid, qty in self.session.execute(
            select(Reservation.variant_id, func.sum(Reservation.quantity_allocated))
            .where(Reservation.variant_id.in_(ids), Reservation.status.in_(LIVE))
            .group_by(Reservation.variant_id)
        ):
            out[vid] += int(qty or 0)
        return out

    def available(self, variant_ids: Iterable[int], now: dt.datetime) -> dict[int, int]:
        """Available to sell per variant: on_hand - reserved - safety_stock - held, floored at 0."""
        ids = list(set(variant_ids))
        shelf: dict[int, int] = defaultdict(int)
        if not ids:
            return shelf
        for vid, on_hand, reserved, safety in self.session.execute(
            select(StockLevel.variant_id, StockLevel.on_hand, StockLevel.reserved, StockLevel.safety_stock)
            .where(StockLevel.variant_id.in_(ids))
        ):
            shelf[vid] += available_to_sell(on_hand, reserved, safety)
        held = self.held(ids, now)
        return defaultdict(int, {vid: available_to_sell(shelf[vid], 0, 0, held.get(vid, 0)) for vid in ids})

    def line_capacities(self, variant_id: int) -> list[LineCapacity]:
        """Open lines of open purchase orders for a variant, with units already promised on each."""
        lines = self.session.execute(
            select(PurchaseOrderLine.id, PurchaseOrderLine.eta, PurchaseOrderLine.quantity,
                   PurchaseOrderLine.quantity_received)
            .join(PurchaseOrder, PurchaseOrderLine.purchase_order_id == PurchaseOrder.id)
            .where(PurchaseOrderLine.variant_id == variant_id, PurchaseOrderLine.status == "open",
                   PurchaseOrder.status == "open")
        ).all()
        promised = self.waiting_by_line([lid for lid, *_ in lines])
        return [LineCapacity(lid, eta, qty - received, promised.get(lid, 0)) for lid, eta, qty, received in lines]

    def waiting_by_line(self, line_ids: list[int]) -> dict[int, int]:
        """Units of active reservations not yet allocated, per purchase-order line."""
        if not line_ids:
            return {}
        return {lid: int(q or 0) for lid, q in self.session.execute(
            select(Reservation.purchase_order_line_id, func.sum(Reservation.quantity - Reservation.quantity_allocated))
            .where(Reservation.purchase_order_line_id.in_(line_ids), Reservation.status == "active")
            .group_by(Reservation.purchase_order_line_id)
        )}

    def customer_units(self, customer_id: int, variant_id: int, exclude_id: int | None = None) -> int:
        """Units this customer already has reserved on a variant (for the per-customer cap)."""
        query = select(func.coalesce(func.sum(Reservation.quantity), 0)).where(
            Reservation.customer_id == customer_id, Reservation.variant_id == variant_id,
            Reservation.status.in_(LIVE))
        if exclude_id is not None:
            query = query.where(Reservation.id != exclude_id)
        return int(self.session.execute(query).scalar_one())

    def waiting_ids(self, reservation: Reservation) -> list[int]:
        """Ids of reservations queued on the same source as `reservation` (same line, or backorders)."""
        query = select(Reservation.id).where(Reservation.status == "active", Reservation.variant_id == reservation.variant_id)
        if reservation.purchase_order_line_id is not None:
            query = query.where(Reservation.purchase_order_line_id == reservation.purchase_order_line_id)
        else:
            query = query.where(Reservation.purchase_order_line_id.is_(None))
        return list(self.session.execute(query.order_by(Reservation.id)).scalars())
