"""`python -m catalog seed`: the demo store lands in the database, and seeding twice changes nothing."""
from __future__ import annotations

import subprocess
import sys

from sqlalchemy import func, select

from catalog.db.orm import ChannelIdentity, Customer, Order, OrderLine, Product, PurchaseOrderLine, Variant
from catalog.domain.statuses import OrderLineStatus
from catalog.domain.stock import Outlook, outlook_for
from catalog.services.seeding import seed_demo_store
from tests.conftest import ROOT, TODAY


def counts(uow):
    s = uow.session
    return {m.__name__: s.execute(select(func.count()).select_from(m)).scalar()
            for m in (Product, Variant, Customer, ChannelIdentity, Order, OrderLine, PurchaseOrderLine)}


def test_seed_fills_a_realistic_store_and_is_idempotent(uow_factory):
    seed_demo_store(uow_factory(), TODAY)
    with uow_factory() as uow:
        first = counts(uow)
        categories = uow.session.execute(select(func.count(func.distinct(Product.category)))).scalar()
        outlooks = [outlook_for(v, TODAY, 5).outlook for p in uow.catalog.products() for v in uow.catalog.variant_stock(p.id)]
        waiting = uow.session.execute(select(func.count()).select_from(OrderLine)
                                      .where(OrderLine.status == OrderLineStatus.WAITING_STOCK)).scalar()
    assert first["Variant"] >= 1000 and categories >= 15 and first["Order"] >= 100 and first["Customer"] >= 40
    out = [o for o in outlooks if o not in (Outlook.IN_STOCK, Outlook.LOW_STOCK)]
    assert 0.07 <= len(out) / len(outlooks) <= 0.14
    assert {Outlook.INCOMING, Outlook.OTHER_SUPPLIER, Outlook.LEAD_TIME, Outlook.NO_RESTOCK} <= set(out)
    assert waiting >= 10
    seed_demo_store(uow_factory(), TODAY)
    with uow_factory() as uow:
        assert counts(uow) == first


def test_seed_command_if_empty_leaves_a_filled_database_alone(sqlite_url):
    cmd = [sys.executable, "-m", "catalog", "--database-url", sqlite_url, "seed", "--if-empty"]
    first = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    second = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0 and "seeded demo store" in first.stdout
    assert second.returncode == 0 and "not seeding" in second.stdout
