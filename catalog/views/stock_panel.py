"""The stock panel: variants out of stock or at/below the low-stock threshold, with their
open purchase orders and how many customers wait for them.

Available to sell comes from the one definition (catalog.db.promises.available_query);
waiting customers are distinct customers with an active reservation on the variant or an
active restock alert on it or on its whole product. A few aggregate queries, whatever the
size of the catalog.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import and_, func, literal, or_, select, union

from catalog.db.orm import Product, Reservation, RestockSubscription, StockLevel, Variant
from catalog.clock import utcnow
from catalog.db.promises import available_query
from catalog.domain.reservations import OpenLine
from catalog.domain.statuses import ReservationStatus, SubscriptionStatus
from catalog.uow import UnitOfWork


@dataclass(frozen=True)
class PanelItem:
    sku: str
    product: str
    color: str | None
    size: str | None
    available: int
    on_hand: int
    waiting_customers: int
    reservations: int
    reserved_units: int  # units of those reservations still to come
    alerts: int
    purchase_orders: tuple[OpenLine, ...]


@dataclass(frozen=True)
class StockPanel:
    threshold: int
    total: int  # variants at or below the threshold
    items: tuple[PanelItem, ...]  # the most awaited first, at most `limit`


def stock_panel(uow: UnitOfWork, threshold: int, limit: int = 300, now: dt.datetime | None = None) -> StockPanel:
    available = available_query(now or utcnow()).subquery()
    on_hand = (select(StockLevel.variant_id.label("vid"), func.sum(StockLevel.on_hand).label("units"))
               .group_by(StockLevel.variant_id).subquery())
    active_sub = RestockSubscription.status == SubscriptionStatus.ACTIVE
    pairs = union(
        select(Reservation.variant_id.label("vid"), Reservation.customer_id.label("cid"))
        .where(Reservation.status == ReservationStatus.ACTIVE),
        select(RestockSubscription.variant_id.label("vid"), RestockSubscription.customer_id.label("cid"))
        .where(active_sub, RestockSubscription.variant_id.is_not(None)),
        select(Variant.id.label("vid"), RestockSubscription.customer_id.label("cid"))
        .join(RestockSubscription, and_(RestockSubscription.product_id == Variant.product_id,
                                        RestockSubscription.variant_id.is_(None)))
        .where(active_sub),
    ).subquery()
    waiting = select(pairs.c.vid, func.count().label("customers")).group_by(pairs.c.vid).subquery()
    reservations = (select(Reservation.variant_id.label("vid"), func.count().label("n"),
                           func.sum(Reservation.quantity - Reservation.quantity_allocated).label("units"))
                    .where(Reservation.status == ReservationStatus.ACTIVE).group_by(Reservation.variant_id).subquery())
    alerts = (select(Variant.id.label("vid"), func.count(RestockSubscription.id).label("n"))
              .join(RestockSubscription, and_(RestockSubscription.product_id == Variant.product_id,
                                              or_(RestockSubscription.variant_id.is_(None),
                                                  RestockSubscription.variant_id == Variant.id)))
              .where(active_sub).group_by(Variant.id).subquery())
    customers = func.coalesce(waiting.c.customers, literal(0))
    query = (select(Variant.id, Variant.sku, Variant.color, Variant.size, Product.title, available.c.available,
                    func.coalesce(on_hand.c.units, 0), customers, func.coalesce(reservations.c.n, 0),
                    func.coalesce(reservations.c.units, 0), func.coalesce(alerts.c.n, 0))
             .join(Product, Variant.product_id == Product.id)
             .join(available, available.c.id == Variant.id)
             .outerjoin(on_hand, on_hand.c.vid == Variant.id)
             .outerjoin(waiting, waiting.c.vid == Variant.id)
             .outerjoin(reservations, reservations.c.vid == Variant.id)
             .outerjoin(alerts, alerts.c.vid == Variant.id)
             .where(available.c.available <= threshold))
    with uow:
        total = int(uow.session.execute(select(func.count()).select_from(query.subquery())).scalar_one())
        rows = uow.session.execute(query.order_by(customers.desc(), available.c.available, Variant.sku)
                                   .limit(limit)).all()
        incoming: dict[int, list[OpenLine]] = defaultdict(list)
        for line in uow.promises.open_lines(row[0] for row in rows):
            incoming[line.variant_id].append(line)
    items = tuple(PanelItem(sku, title, color, size, int(avail), int(units), int(waiting_n), int(res_n),
                            int(res_units), int(alert_n), tuple(incoming[vid]))
                  for vid, sku, color, size, title, avail, units, waiting_n, res_n, res_units, alert_n in rows)
    return StockPanel(threshold, total, items)
