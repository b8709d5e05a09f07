"""Restock alerts: subscribe, list, unsubscribe, and the fan-out when stock arrives.

When units become sellable, subscribers are served first come, first served, only as
many as there are units: each gets one unit held for them for `hold_for`, and the
alert is queued in the outbox in the same transaction (so an alert exists exactly when
its hold does). A subscription is notified once; when a hold expires unused its unit
goes to the next subscriber in line (`expire_holds`).

The queued alert carries what it is about (product, variant, until when the unit is
held); the channel's sender words it (catalog.wording.notices).
"""
from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import insert, select, update

from catalog.db.orm import Product, Reservation, RestockSubscription, StockHold, Variant
from catalog.clock import utcnow
from catalog.domain.reservations import allocate_in_order
from catalog.domain.statuses import HoldStatus, MessageKind, ReservationStatus, SubscriptionStatus
from catalog.policy import restock_hold
from catalog.services.outbox import enqueue_many, enqueue_values
from catalog.uow import UnitOfWork


class AlertProblem(enum.Enum):
    NO_RECIPIENT = "no_recipient"  # nowhere to send the alert
    UNKNOWN_ITEM = "unknown_item"  # no variant with that sku
    UNKNOWN_PRODUCT = "unknown_product"


class AlertError(ValueError):
    """The subscription cannot be made; `problem` says why."""

    def __init__(self, problem: AlertProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True)
class Subscription:
    id: int
    product_id: int
    product_title: str
    sku: str | None  # None: any variant of the product
    status: SubscriptionStatus
    created_at: dt.datetime
    channel: str


@dataclass(frozen=True)
class ArrivalReport:
    alerts_queued: int
    units_held: int


def subscribe(
    uow: UnitOfWork, customer_id: int, channel: str, recipient: str,
    product_id: int | None = None, sku: str | None = None,
) -> Subscription:
    """Subscribe to a product (any variant) or one variant (by sku). Subscribing twice is one subscription."""
    channel, recipient = (channel or "").strip()[:32], (recipient or "").strip()[:200]
    if not channel or not recipient:
        raise AlertError(AlertProblem.NO_RECIPIENT)
    with uow:
        uow.begin_write()
        variant = None
        if sku:
            vid = uow.catalog.variant_id_for_sku(sku)
            variant = uow.session.get(Variant, vid) if vid is not None else None
            if variant is None:
                raise AlertError(AlertProblem.UNKNOWN_ITEM)
            product_id = variant.product_id
        product = uow.session.get(Product, product_id) if product_id is not None else None
        if product is None:
            raise AlertError(AlertProblem.UNKNOWN_PRODUCT)
        existing = uow.session.execute(select(RestockSubscription).where(
            RestockSubscription.customer_id == customer_id, RestockSubscription.product_id == product.id,
            RestockSubscription.variant_id.is_(None) if variant is None else RestockSubscription.variant_id == variant.id,
            RestockSubscription.status == SubscriptionStatus.ACTIVE,
        )).scalars().first()
        sub = existing or RestockSubscription(customer_id=customer_id, product_id=product.id,
                                              variant_id=variant.id if variant else None, channel=channel,
                                              recipient=recipient, status=SubscriptionStatus.ACTIVE,
                                              created_at=utcnow())
        if existing is None:
            uow.session.add(sub)
            uow.session.flush()
        view = Subscription(sub.id, product.id, product.title, variant.sku if variant else None,
                            SubscriptionStatus(sub.status), sub.created_at, sub.channel)
        uow.commit()
    return view


def list_subscriptions(uow: UnitOfWork, customer_id: int) -> list[Subscription]:
    with uow:
        rows = uow.session.execute(
            select(RestockSubscription, Product.title, Variant.sku)
            .join(Product, RestockSubscription.product_id == Product.id)
            .outerjoin(Variant, RestockSubscription.variant_id == Variant.id)
            .where(RestockSubscription.customer_id == customer_id,
                   RestockSubscription.status == SubscriptionStatus.ACTIVE)
            .order_by(RestockSubscription.id)
        ).all()
        return [Subscription(s.id, s.product_id, title, sku, SubscriptionStatus(s.status), s.created_at, s.channel)
                for s, title, sku in rows]


def unsubscribe(uow: UnitOfWork, customer_id: int, subscription_id: int) -> bool:
    """Cancel one's own subscription; False when there is no such active subscription of theirs."""
    with uow:
        uow.begin_write()
        done = cancel_subscriptions(uow, RestockSubscription.id == subscription_id,
                                    RestockSubscription.customer_id == customer_id)
        uow.commit()
    return bool(done)


def cancel_subscriptions(uow: UnitOfWork, *where) -> int:
    """In the caller's transaction: end the active subscriptions matching `where`; returns how many."""
    return uow.session.execute(
        update(RestockSubscription).where(*where, RestockSubscription.status == SubscriptionStatus.ACTIVE)
        .values(status=SubscriptionStatus.CANCELLED).execution_options(synchronize_session=False)
    ).rowcount


def on_stock_arrived(
    uow: UnitOfWork, variant_ids: Iterable[int], now: dt.datetime | None = None, hold_for: dt.timedelta | None = None,
) -> ArrivalReport:
    """Own transaction: alert subscribers of these variants for as many units as are free now."""
    with uow:
        uow.begin_write()
        report = alert_in_session(uow, variant_ids, now or utcnow(), hold_for)
        uow.commit()
    return report


def alert_in_session(
    uow: UnitOfWork, variant_ids: Iterable[int], now: dt.datetime, hold_for: dt.timedelta | None = None,
) -> ArrivalReport:
    """The fan-out inside the caller's transaction (receive, import, expiry), set-based for speed."""
    variants = uow.promises.lock_variants(variant_ids)
    if not variants:
        return ArrivalReport(0, 0)
    available = uow.promises.available([v.id for v in variants], now)
    until = now + (hold_for or restock_hold())
    titles = dict(uow.session.execute(
        select(Product.id, Product.title).where(Product.id.in_({v.product_id for v in variants}))).all())
    holds, messages, notified = [], [], []
    for v in variants:
        units = available[v.id]
        if units <= 0:
            continue
        # Backorders were promised before anyone asked for an alert: they are served first.
        units -= allocate_waiting(
            uow, (Reservation.variant_id == v.id) & Reservation.purchase_order_line_id.is_(None), units)
        if units <= 0:
            continue
        holding = set(uow.session.execute(select(StockHold.customer_id).where(
            StockHold.variant_id == v.id, StockHold.status == HoldStatus.ACTIVE, StockHold.expires_at > now)).scalars())
        subs = uow.session.execute(
            select(RestockSubscription.id, RestockSubscription.customer_id, RestockSubscription.channel,
                   RestockSubscription.recipient)
            .where(RestockSubscription.status == SubscriptionStatus.ACTIVE,
                   RestockSubscription.product_id == v.product_id,
                   (RestockSubscription.variant_id == v.id) | RestockSubscription.variant_id.is_(None))
            .order_by(RestockSubscription.created_at, RestockSubscription.id)
        ).all()
        for sub_id, customer_id, channel, recipient in subs:
            if units <= 0:
                break
            notified.append(sub_id)
            if customer_id in holding:  # one unit per customer; the subscription is served by that hold
                continue
            holding.add(customer_id)
            units -= 1
            holds.append(dict(variant_id=v.id, customer_id=customer_id, subscription_id=sub_id, quantity=1,
                              status=HoldStatus.ACTIVE, expires_at=until, created_at=now))
            messages.append(enqueue_values(
                customer_id, channel, recipient, MessageKind.RESTOCK_ALERT,
                {"sku": v.sku, "product_id": v.product_id, "product": titles.get(v.product_id, ""),
                 "color": v.color, "size": v.size, "held_until": until.isoformat(timespec="minutes"),
                 "subscription_id": sub_id},
                f"restock:{sub_id}", now))
    if holds:
        uow.session.execute(insert(StockHold), holds)
    for start in range(0, len(notified), 5000):
        uow.session.execute(
            update(RestockSubscription).where(RestockSubscription.id.in_(notified[start:start + 5000]))
            .values(status=SubscriptionStatus.NOTIFIED, notified_at=now).execution_options(synchronize_session=False))
    queued = enqueue_many(uow.session, messages)
    return ArrivalReport(queued, len(holds))


def allocate_waiting(uow: UnitOfWork, source, units: int) -> int:
    """Set `units` aside for active reservations matching `source`, in order of id; returns units given."""
    if units <= 0:
        return 0
    waiting = uow.session.execute(select(Reservation).where(source, Reservation.status == ReservationStatus.ACTIVE)
                                  .order_by(Reservation.id)).scalars().all()
    by_id = {r.id: r for r in waiting}
    given = 0
    for rid, take in allocate_in_order([(r.id, r.quantity - r.quantity_allocated) for r in waiting], units):
        r = by_id[rid]
        r.quantity_allocated += take
        if r.quantity_allocated == r.quantity:
            r.status = ReservationStatus.ALLOCATED
        given += take
    uow.session.flush()
    return given


def expire_holds(uow: UnitOfWork, now: dt.datetime | None = None, hold_for: dt.timedelta | None = None) -> tuple[int, ArrivalReport]:
    """Close holds whose time is up and offer their units to the next subscribers in line."""
    now = now or utcnow()
    with uow:
        uow.begin_write()
        rows = uow.session.execute(select(StockHold.id, StockHold.variant_id).where(
            StockHold.status == HoldStatus.ACTIVE, StockHold.expires_at <= now)).all()
        if rows:
            uow.session.execute(update(StockHold).where(StockHold.id.in_([r[0] for r in rows]))
                                .values(status=HoldStatus.EXPIRED).execution_options(synchronize_session=False))
        report = alert_in_session(uow, {r[1] for r in rows}, now, hold_for) if rows else ArrivalReport(0, 0)
        uow.commit()
    return len(rows), report
