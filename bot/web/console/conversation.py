"""A conversation as staff see it: the transcript from Rasa's tracker, and beside it the
customer's orders, reservations and restock alerts and the stock of the products mentioned.

Everything here is data; the templates escape it (Jinja2 autoescape) and the page script
only ever sets `textContent`, so a customer's words are shown, never run.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from catalog.config import low_stock_threshold
from catalog.db.orm import (
    ChannelIdentity,
    Customer,
    Order,
    OrderLine,
    Product,
    Reservation,
    RestockSubscription,
    Variant,
)
from catalog.domain.access import normalise_order_number
from catalog.domain.ledger import cents
from catalog.domain.stock import outlook_for
from catalog.domain.variants import label
from catalog.search.text import sku_candidates
from catalog.uow import UnitOfWork

SKU_SLOTS = ("product_sku", "preorder_sku", "substitute_for")
MAX_PRODUCTS = 5
MAX_TEXT = 4000


def _time(ts: Any) -> str | None:
    if not isinstance(ts, (int, float)):
        return None
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def transcript(tracker: dict[str, Any]) -> list[dict[str, Any]]:
    """User and bot messages in order, staff messages and take-over notes marked as such."""
    out: list[dict[str, Any]] = []
    for event in tracker.get("events") or []:
        kind = event.get("event")
        when = _time(event.get("timestamp"))
        if kind == "user":
            text = event.get("text")
            if text is None:
                continue
            out.append({"kind": "user", "who": "customer", "text": str(text)[:MAX_TEXT], "time": when,
                        "channel": event.get("input_channel") or ""})
        elif kind == "bot":
            meta = event.get("metadata") or {}
            staff = meta.get("staff") if isinstance(meta, dict) else None
            if staff and meta.get("taken_over"):
                out.append({"kind": "note", "who": str(staff), "text": f"{staff} took the conversation over",
                            "time": when})
                continue
            if staff and meta.get("handed_back"):
                out.append({"kind": "note", "who": str(staff), "text": f"{staff} handed the conversation back "
                            "to the assistant", "time": when})
                continue
            text = event.get("text")
            data = event.get("data") or {}
            buttons = [str(b.get("title") or b.get("payload") or "") for b in (data.get("buttons") or [])
                       if isinstance(b, dict)]
            if not text and not buttons:
                continue
            out.append({"kind": "staff" if staff else "bot", "who": str(staff) if staff else "assistant",
                        "text": str(text or "")[:MAX_TEXT], "time": when, "buttons": buttons[:10]})
        elif kind == "pause":
            out.append({"kind": "note", "who": "", "text": "assistant paused", "time": when})
        elif kind == "resume":
            out.append({"kind": "note", "who": "", "text": "assistant resumed", "time": when})
    return out


def mentioned_skus(tracker: dict[str, Any]) -> list[str]:
    """SKUs the conversation was about: product slots over time, and SKU-like words typed."""
    found: list[str] = []
    for event in tracker.get("events") or []:
        if event.get("event") == "slot" and event.get("name") in SKU_SLOTS and isinstance(event.get("value"), str):
            found.append(event["value"])
        elif event.get("event") == "user" and isinstance(event.get("text"), str):
            found.extend(sku_candidates(event["text"][:MAX_TEXT])[:10])
    slots = tracker.get("slots") or {}
    found.extend(str(slots[s]) for s in SKU_SLOTS if isinstance(slots.get(s), str))
    seen: dict[str, None] = {}
    for sku in reversed(found):  # most recent first
        key = sku.strip().upper()[:64]
        if key:
            seen.setdefault(key, None)
    return list(seen)[:50]


@dataclass
class CustomerPanel:
    customer_id: int | None = None
    name: str = ""
    email: str | None = None
    identities: list[str] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    reservations: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)


def customer_panel(uow: UnitOfWork, customer_id: int | None, channel: str, sender_id: str,
                   skus: list[str], order_number: str | None = None, today: dt.date | None = None) -> CustomerPanel:
    today = today or dt.date.today()
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
            panel.identities = [f"{c}: {e}" + (" (unreachable)" if u else "") for c, e, u in s.execute(
                select(ChannelIdentity.channel, ChannelIdentity.external_id, ChannelIdentity.unreachable_at)
                .where(ChannelIdentity.customer_id == customer.id).order_by(ChannelIdentity.id))]
            order_ids = list(s.execute(select(Order.id).where(Order.customer_id == customer.id)
                                       .order_by(Order.placed_at.desc()).limit(20)).scalars())
            panel.reservations = _reservations(uow, customer.id)
            panel.alerts = _alerts(uow, customer.id)
        mentioned = None
        if order_number:
            mentioned = s.execute(select(Order.id).where(Order.number == normalise_order_number(order_number))).scalar()
            if mentioned is not None and mentioned not in order_ids:
                order_ids.insert(0, mentioned)
        panel.orders = _orders(uow, order_ids, mentioned, panel.customer_id)
        panel.products = _products(uow, skus, today)
    return panel


def _orders(uow: UnitOfWork, order_ids: list[int], mentioned: int | None,
            customer_id: int | None) -> list[dict[str, Any]]:
    if not order_ids:
        return []
    orders = {o.id: o for o in uow.session.execute(select(Order).where(Order.id.in_(order_ids))).scalars()}
    lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for line, sku in uow.session.execute(select(OrderLine, Variant.sku).join(Variant, OrderLine.variant_id == Variant.id)
                                         .where(OrderLine.order_id.in_(order_ids)).order_by(OrderLine.id)):
        lines[line.order_id].append({"sku": sku, "quantity": line.quantity, "status": line.status,
                                     "unit_price": str(line.unit_price)})
        totals[line.order_id] += cents(line.unit_price * line.quantity)
    return [{"number": orders[i].number, "status": orders[i].status, "currency": orders[i].currency,
             "placed_at": orders[i].placed_at.strftime("%Y-%m-%d"), "total": str(totals[i]), "lines": lines[i],
             # named in the chat but not this customer's: the shopper may not have proved it is theirs
             "mentioned_only": i == mentioned and orders[i].customer_id != customer_id}
            for i in order_ids if i in orders]


def _reservations(uow: UnitOfWork, customer_id: int) -> list[dict[str, Any]]:
    rows = uow.session.execute(
        select(Reservation, Variant.sku).join(Variant, Reservation.variant_id == Variant.id)
        .where(Reservation.customer_id == customer_id, Reservation.status.in_(("active", "allocated")))
        .order_by(Reservation.id)).all()
    return [{"id": r.id, "sku": sku, "kind": r.kind, "quantity": r.quantity, "allocated": r.quantity_allocated,
             "status": r.status, "eta": r.promised_eta.isoformat() if r.promised_eta else None} for r, sku in rows]


def _alerts(uow: UnitOfWork, customer_id: int) -> list[dict[str, Any]]:
    rows = uow.session.execute(
        select(RestockSubscription, Product.title, Variant.sku)
        .join(Product, RestockSubscription.product_id == Product.id)
        .outerjoin(Variant, RestockSubscription.variant_id == Variant.id)
        .where(RestockSubscription.customer_id == customer_id, RestockSubscription.status == "active")
        .order_by(RestockSubscription.id)).all()
    return [{"id": sub.id, "product": title, "sku": sku or "any variant", "channel": sub.channel,
             "since": sub.created_at.strftime("%Y-%m-%d")} for sub, title, sku in rows]


def _products(uow: UnitOfWork, skus: list[str], today: dt.date) -> list[dict[str, Any]]:
    if not skus:
        return []
    found = dict(uow.session.execute(select(Variant.sku_key, Variant.product_id).where(Variant.sku_key.in_(skus))).all())
    product_ids = list(dict.fromkeys(found[s] for s in skus if s in found))[:MAX_PRODUCTS]
    if not product_ids:
        return []
    titles = dict(uow.session.execute(select(Product.id, Product.title).where(Product.id.in_(product_ids))).all())
    low = low_stock_threshold()
    out = []
    for pid in product_ids:
        variants = []
        for v in uow.catalog.variant_stock(pid):
            o = outlook_for(v, today, low)
            incoming = sorted(v.incoming, key=lambda line: line.eta or dt.date.max)
            variants.append({
                "sku": v.sku, "label": label(v.color, v.size) or "-", "available": v.available,
                "outlook": o.outlook.value.replace("_", " "),
                "incoming": [{"quantity": line.quantity, "eta": line.eta.isoformat() if line.eta else None,
                              "supplier": line.supplier} for line in incoming],
                "mentioned": v.sku.upper() in skus,
            })
        out.append({"id": pid, "title": titles.get(pid, ""), "variants": variants})
    return out

