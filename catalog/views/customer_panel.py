"""The customer's side of a conversation, as staff see it beside the transcript: who they
are, their orders, reservations and restock alerts, and the stock of the products the
conversation was about."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select

from catalog.db.orm import ChannelIdentity, Customer, Order, OrderLine, Variant
from catalog.domain.access import normalise_order_number
from catalog.domain.ledger import cents
from catalog.domain.products import sku_key
from catalog.domain.statuses import OrderLineStatus, OrderStatus
from catalog.domain.stock import StockOutlook, VariantStock, outlook_for
from catalog.services.alerts import Subscription, list_subscriptions
from catalog.services.reservations import ReservationView, list_reservations
from catalog.uow import UnitOfWork

MAX_PRODUCTS = 5
MAX_ORDERS = 20


@dataclass(frozen=True)
class OrderLineRow:
    sku: str
    quantity: int
    status: OrderLineStatus
    unit_price: Decimal


@dataclass(frozen=True)
class OrderRow:
    number: str
    status: OrderStatus
    currency: str
    placed_at: dt.datetime
    total: Decimal
    lines: tuple[OrderLineRow, ...]
    mentioned_only: bool  # named in the chat but another customer's: not proven to be theirs


@dataclass(frozen=True)
class ProductStock:
    id: int
    title: str
    variants: tuple[tuple[VariantStock, StockOutlook], ...]


@dataclass
class CustomerPanel:
    customer_id: int | None = None
    name: str = ""
    email: str | None = None
    identities: list[tuple[str, str, bool]] = field(default_factory=list)  # channel, id, unreachable
    orders: list[OrderRow] = field(default_factory=list)
    reservations: list[ReservationView] = field(default_factory=list)
    alerts: list[Subscription] = field(default_factory=list)
    products: list[ProductStock] = field(default_factory=list)


def customer_panel(uow: UnitOfWork, customer_id: int | None, channel: str, sender_id: str, skus: list[str],
                   order_number: str | None, today: dt.date, low_threshold: int) -> CustomerPanel:
    panel = CustomerPanel()
    with uow:
        s = uow.session
        if customer_id is None and channel and sender_id:
            customer_id = s.execute(select(ChannelIdentity.customer_id).where(
                ChannelIdentity.channel == channel[:32], ChannelIdentity.external_id == sender_id[:200])).scalar()
        customer = s.get(Customer, customer_id) if customer_id is not None else None
        order_ids: list[int] = []
        if customer is not None:
            panel.customer_id, panel.name, panel.email = customer.id, customer.name, customer.email
            panel.identities = [(c, e, u is not None) for c, e, u in s.execute(
                select(ChannelIdentity.channel, ChannelIdentity.external_id, ChannelIdentity.unreachable_at)
                .where(ChannelIdentity.customer_id == customer.id).order_by(ChannelIdentity.id))]
            order_ids = list(s.execute(select(Order.id).where(Order.customer_id == customer.id)
                                       .order_by(Order.placed_at.desc()).limit(MAX_ORDERS)).scalars())
        mentioned = None
        if order_number:
            mentioned = s.execute(select(Order.id).where(Order.number == normalise_order_number(order_number))).scalar()
            if mentioned is not None and mentioned not in order_ids:
                order_ids.insert(0, mentioned)
        panel.orders = _orders(uow, order_ids, mentioned, panel.customer_id)
        panel.products = _products(uow, skus, today, low_threshold)
    if panel.customer_id is not None:
        panel.reservations = list_reservations(uow, panel.customer_id)
        panel.alerts = list_subscriptions(uow, panel.customer_id)
    return panel


def _orders(uow: UnitOfWork, order_ids: list[int], mentioned: int | None, customer_id: int | None) -> list[OrderRow]:
    if not order_ids:
        return []
    orders = {o.id: o for o in uow.session.execute(select(Order).where(Order.id.in_(order_ids))).scalars()}
    lines: dict[int, list[OrderLineRow]] = defaultdict(list)
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for line, sku in uow.session.execute(select(OrderLine, Variant.sku).join(Variant, OrderLine.variant_id == Variant.id)
                                         .where(OrderLine.order_id.in_(order_ids)).order_by(OrderLine.id)):
        lines[line.order_id].append(OrderLineRow(sku, line.quantity, OrderLineStatus(line.status), line.unit_price))
        totals[line.order_id] += cents(line.unit_price * line.quantity)
    return [OrderRow(orders[i].number, OrderStatus(orders[i].status), orders[i].currency, orders[i].placed_at, totals[i],
                     tuple(lines[i]), i == mentioned and orders[i].customer_id != customer_id)
            for i in order_ids if i in orders]


def _products(uow: UnitOfWork, skus: list[str], today: dt.date, low_threshold: int) -> list[ProductStock]:
    keys = [key for key in map(sku_key, skus) if key]
    if not keys:
        return []
    found = dict(uow.session.execute(select(Variant.sku_key, Variant.product_id).where(Variant.sku_key.in_(keys))).all())
    product_ids = list(dict.fromkeys(found[k] for k in keys if k in found))[:MAX_PRODUCTS]
    titles = dict(uow.catalog.product_labels(product_ids))
    return [ProductStock(pid, titles[pid][0], tuple((v, outlook_for(v, today, low_threshold))
                                                    for v in uow.catalog.variant_stock(pid)))
            for pid in product_ids if pid in titles]
