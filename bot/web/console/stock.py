"""The stock panel: variants out of stock or at/below LOW_STOCK_THRESHOLD, with their open
purchase orders and how many customers wait for them.

Available to sell is derived as everywhere else (catalog/db/promises.py): per location
max(0, on_hand - reserved - safety_stock), summed, minus active unexpired holds and
allocated pre-order units. Waiting customers are distinct customers with an active
reservation on the variant or an active restock alert on it or on its whole product.
A few aggregate queries, whatever the size of the catalog.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, union

from catalog.config import low_stock_threshold
from catalog.db.orm import (
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    Reservation,
    RestockSubscription,
    StockHold,
    StockLevel,
    Supplier,
    Variant,
    utcnow,
)
from catalog.db.promises import LIVE
from catalog.uow import UnitOfWork


def stock_panel(uow: UnitOfWork, threshold: int | None = None, limit: int = 300) -> dict[str, Any]:
    threshold = low_stock_threshold() if threshold is None else threshold
    now = utcnow()
    free = StockLevel.on_hand - StockLevel.reserved - StockLevel.safety_stock
    shelf = (select(StockLevel.variant_id.label("vid"),
                    func.sum(case((free > 0, free), else_=0)).label("units"),
                    func.sum(StockLevel.on_hand).label("on_hand"))
             .group_by(StockLevel.variant_id).subquery())
    holds = (select(StockHold.variant_id.label("vid"), func.sum(StockHold.quantity).label("units"))
             .where(StockHold.status == "active", StockHold.expires_at > now)
             .group_by(StockHold.variant_id).subquery())
    allocated = (select(Reservation.variant_id.label("vid"), func.sum(Reservation.quantity_allocated).label("units"))
                 .where(Reservation.status.in_(LIVE)).group_by(Reservation.variant_id).subquery())
    pairs = union(
        select(Reservation.variant_id.label("vid"), Reservation.customer_id.label("cid"))
        .where(Reservation.status == "active"),
        select(RestockSubscription.variant_id.label("vid"), RestockSubscription.customer_id.label("cid"))
        .where(RestockSubscription.status == "active", RestockSubscription.variant_id.is_not(None)),
        select(Variant.id.label("vid"), RestockSubscription.customer_id.label("cid"))
        .join(RestockSubscription, and_(RestockSubscription.product_id == Variant.product_id,
                                        RestockSubscription.variant_id.is_(None)))
        .where(RestockSubscription.status == "active"),
    ).subquery()
    waiting = select(pairs.c.vid, func.count().label("customers")).group_by(pairs.c.vid).subquery()
    reservations = (select(Reservation.variant_id.label("vid"), func.count().label("n"),
                           func.sum(Reservation.quantity - Reservation.quantity_allocated).label("units"))
                    .where(Reservation.status == "active").group_by(Reservation.variant_id).subquery())
    alerts = (select(Variant.id.label("vid"), func.count(RestockSubscription.id).label("n"))
              .join(RestockSubscription, and_(RestockSubscription.product_id == Variant.product_id,
                                              or_(RestockSubscription.variant_id.is_(None),
                                                  RestockSubscription.variant_id == Variant.id)))
              .where(RestockSubscription.status == "active").group_by(Variant.id).subquery())

    available = (func.coalesce(shelf.c.units, 0) - func.coalesce(holds.c.units, 0)
                 - func.coalesce(allocated.c.units, 0))
    customers = func.coalesce(waiting.c.customers, literal(0))
    query = (select(Variant.id, Variant.sku, Variant.color, Variant.size, Product.title,
                    available.label("available"), func.coalesce(shelf.c.on_hand, 0).label("on_hand"),
                    customers.label("waiting"), func.coalesce(reservations.c.n, 0), func.coalesce(reservations.c.units, 0),
                    func.coalesce(alerts.c.n, 0))
             .join(Product, Variant.product_id == Product.id)
             .outerjoin(shelf, shelf.c.vid == Variant.id)
             .outerjoin(holds, holds.c.vid == Variant.id)
             .outerjoin(allocated, allocated.c.vid == Variant.id)
             .outerjoin(waiting, waiting.c.vid == Variant.id)
             .outerjoin(reservations, reservations.c.vid == Variant.id)
             .outerjoin(alerts, alerts.c.vid == Variant.id)
             .where(available <= threshold))
    with uow:
        total = int(uow.session.execute(select(func.count()).select_from(query.subquery())).scalar_one())
        rows = uow.session.execute(query.order_by(customers.desc(), available, Variant.sku).limit(limit)).all()
        ids = [r[0] for r in rows]
        incoming: dict[int, list[dict[str, Any]]] = defaultdict(list)
        if ids:
            for vid, ref, supplier, eta, qty, received in uow.session.execute(
                    select(PurchaseOrderLine.variant_id, PurchaseOrder.reference, Supplier.name, PurchaseOrderLine.eta,
                           PurchaseOrderLine.quantity, PurchaseOrderLine.quantity_received)
                    .join(PurchaseOrder, PurchaseOrderLine.purchase_order_id == PurchaseOrder.id)
                    .join(Supplier, PurchaseOrder.supplier_id == Supplier.id)
                    .where(PurchaseOrderLine.variant_id.in_(ids), PurchaseOrderLine.status == "open",
                           PurchaseOrder.status == "open")
                    .order_by(PurchaseOrderLine.eta, PurchaseOrderLine.id)):
                incoming[vid].append({"reference": ref, "supplier": supplier, "eta": eta.isoformat() if eta else None,
                                      "quantity": qty - received})
    items = []
    for vid, sku, color, size, title, avail, on_hand, waiting_n, res_n, res_units, alert_n in rows:
        avail = max(0, int(avail))
        items.append({"sku": sku, "product": title, "color": color, "size": size, "available": avail,
                      "on_hand": int(on_hand), "state": "out of stock" if avail == 0 else "low",
                      "waiting_customers": int(waiting_n), "reservations": int(res_n),
                      "reserved_units": int(res_units), "alerts": int(alert_n), "purchase_orders": incoming[vid]})
    return {"threshold": threshold, "total": total, "shown": len(items), "items": items}
