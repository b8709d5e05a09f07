"""Fill a database with the deterministic demo store (catalog.demo_data).

Products go through the same import path a merchant's file takes, so the demo store
exercises the real code; the rest (second suppliers, customers, orders) is upserted
by natural keys, so seeding twice changes nothing.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select, update

from catalog.db.orm import ChannelIdentity, Customer, Order, OrderLine, Supplier, SupplierOffer, Variant
from catalog.demo_data import DemoStore, build_demo_store
from catalog.domain.statuses import Channel
from catalog.importing.reader import RawRow
from catalog.services.importing import import_raw_rows
from catalog.uow import UnitOfWork


def seed_demo_store(uow: UnitOfWork, today: dt.date, seed: int = 7) -> str:
    store = build_demo_store(today, seed)
    report = import_raw_rows(uow, (RawRow(i + 2, row) for i, row in enumerate(store.rows)), reference="seed")
    if report.errors:
        raise RuntimeError(f"demo data has invalid rows: {report.errors[:3]}")
    with uow:
        _suppliers(uow, store)
        offers = _extra_offers(uow, store)
        customers = _customers(uow, store)
        orders = _orders(uow, store, customers)
        uow.commit()
    return (f"seeded demo store: {report.imported} SKUs, {len(store.suppliers)} suppliers, "
            f"{offers} second-supplier offers, {len(customers)} customers, {orders} orders")


def _suppliers(uow: UnitOfWork, store: DemoStore) -> None:
    for spec in store.suppliers:
        supplier = uow.session.execute(select(Supplier).where(Supplier.name == spec.name)).scalar_one_or_none()
        if supplier is None:
            supplier = Supplier(name=spec.name)
            uow.session.add(supplier)
        supplier.lead_time_days = spec.lead_time_days
        supplier.reliability = Decimal(str(spec.reliability))
    uow.session.flush()


def _extra_offers(uow: UnitOfWork, store: DemoStore) -> int:
    s = uow.session
    suppliers = dict(s.execute(select(Supplier.name, Supplier.id)).all())
    for extra in store.extra_offers:
        if extra.supplier not in suppliers:
            supplier = Supplier(name=extra.supplier, lead_time_days=extra.lead_time_days)
            s.add(supplier)
            s.flush()
            suppliers[extra.supplier] = supplier.id
        variant_id = s.execute(select(Variant.id).where(Variant.sku == extra.sku)).scalar_one()
        # The usual supplier is out as well: that is why a second source is worth mentioning.
        s.execute(update(SupplierOffer).where(SupplierOffer.variant_id == variant_id, SupplierOffer.is_primary)
                  .values(supplier_qty=0))
        offer = s.execute(select(SupplierOffer).where(
            SupplierOffer.variant_id == variant_id, SupplierOffer.supplier_id == suppliers[extra.supplier])
        ).scalar_one_or_none()
        if offer is None:
            offer = SupplierOffer(variant_id=variant_id, supplier_id=suppliers[extra.supplier], is_primary=False)
            s.add(offer)
        offer.price, offer.lead_time_days, offer.supplier_qty = extra.price, extra.lead_time_days, extra.supplier_qty
    s.flush()
    return len(store.extra_offers)


def _customers(uow: UnitOfWork, store: DemoStore) -> dict[str, int]:
    s = uow.session
    ids: dict[str, int] = {}
    for spec in store.customers:
        customer = s.execute(select(Customer).where(Customer.email == spec.email)).scalar_one_or_none()
        if customer is None:
            customer = Customer(name=spec.name, email=spec.email)
            s.add(customer)
            s.flush()
        ids[spec.email] = customer.id
        if spec.telegram_id and s.execute(select(ChannelIdentity.id).where(
                ChannelIdentity.channel == Channel.TELEGRAM, ChannelIdentity.external_id == spec.telegram_id)).first() is None:
            s.add(ChannelIdentity(customer_id=customer.id, channel=Channel.TELEGRAM, external_id=spec.telegram_id))
    s.flush()
    return ids


def _orders(uow: UnitOfWork, store: DemoStore, customers: dict[str, int]) -> int:
    s = uow.session
    existing = set(s.execute(select(Order.number)).scalars())
    variants = {sku: (vid, price, cur) for sku, vid, price, cur in s.execute(
        select(Variant.sku, Variant.id, Variant.price, Variant.currency))}
    for spec in store.orders:
        if spec.number in existing:
            continue
        first = variants[spec.lines[0].sku]
        order = Order(number=spec.number, customer_id=customers[spec.customer_email], email=spec.customer_email,
                      status=spec.status, currency=first[2],
                      placed_at=dt.datetime.combine(spec.placed_on, dt.time(10, 0)))
        order.lines = [OrderLine(variant_id=variants[line.sku][0], quantity=line.quantity,
                                 unit_price=variants[line.sku][1], status=line.status) for line in spec.lines]
        s.add(order)
    s.flush()
    return len(store.orders)
