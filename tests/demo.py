"""What the demo store holds right now, for tests against the shared servers: products picked
by their current state (the servers' database changes as tests run), and stock arriving as a
merchant's one-row import. Also a merchant's own small feed, imported and indexed.
"""
from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator

from sqlalchemy import select

from catalog.db.orm import Order, OrderLine, Product
from catalog.domain.statuses import OrderLineStatus
from catalog.domain.stock import Outlook, StockOutlook, VariantStock, outlook_for
from catalog.services.substitutes import Substitute, find_substitutes
from catalog.uow import UnitOfWork
from tests.conftest import ROOT, TODAY

LOW = 5  # LOW_STOCK_THRESHOLD's default, which the servers run with


def indexed_feed(folder, header: list[str], rows: list) -> str:
    """A merchant's feed (`header` and `rows` as CSV) imported with the importer into a fresh
    SQLite file in `folder`, with its substitutes index built as the action server does."""
    from catalog.db.migrate import upgrade
    from catalog.services.importing import import_file
    from catalog.services.substitutes import build_index

    path = folder / "catalog.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    url = f"sqlite:///{folder}/catalog.db"
    upgrade(url)
    report = import_file(UnitOfWork(url), path)
    assert not report.errors, report.errors[:3]
    build_index(UnitOfWork(url))
    return url


def single_variant_products(url: str) -> Iterator[tuple[int, str, VariantStock, StockOutlook]]:
    """(product id, title, its one variant's stock, outlook), in catalog order."""
    with UnitOfWork(url) as uow:
        rows = uow.session.execute(select(Product.id, Product.title).order_by(Product.id)).all()
        stocks = {pid: uow.catalog.variant_stock(pid) for pid, _ in rows}
    for pid, title in rows:
        if len(stocks[pid]) == 1:
            yield pid, title, stocks[pid][0], outlook_for(stocks[pid][0], TODAY, LOW)


def incoming(url: str, preorderable: bool = False, units: int = 1) -> tuple[str, VariantStock, StockOutlook]:
    """A product out of stock with at least `units` on a delivery that is not late."""
    for _, title, stock, o in single_variant_products(url):
        if (o.outlook is Outlook.INCOMING and not o.overdue and o.restock_date is not None
                and o.restock_qty >= units and (stock.preorder_allowed or not preorderable)):
            return title, stock, o
    raise AssertionError("no single-variant product with a delivery on order")


def out_of_stock_with_substitutes(url: str) -> tuple[int, str, VariantStock]:
    """A product with nothing available whose answer offers other products (not the same
    item from another supplier, which the stock answer already says)."""
    for pid, title, stock, o in single_variant_products(url):
        if stock.available > 0 or o.outlook is Outlook.OTHER_SUPPLIER:
            continue
        if [s for s in find_substitutes(UnitOfWork(url), stock.sku, k=3) if not s.same_item]:
            return pid, title, stock
    raise AssertionError("no out-of-stock product with substitutes")


def in_stock_suggestion(url: str, sku: str) -> Substitute | None:
    """The first suggestion offered for `sku` that is another product on the shelf now
    (the chat offers the first three of four candidates when a delivery is on order)."""
    return next((s for s in find_substitutes(UnitOfWork(url), sku, k=4)[:3] if not s.same_item and not s.preorder),
                None)


def out_of_stock_incoming(url: str) -> tuple[str, VariantStock, StockOutlook]:
    """A product out of stock, with a delivery on order (not late) and an in-stock substitute."""
    for _, title, stock, o in single_variant_products(url):
        if (o.outlook is Outlook.INCOMING and not o.overdue and o.restock_date is not None
                and in_stock_suggestion(url, stock.sku)):
            return title, stock, o
    raise AssertionError("no out-of-stock product with a delivery on order and an in-stock substitute")


def order_with_waiting_line(url: str) -> tuple[str, str]:
    """(number, email) of an order with a line waiting for stock."""
    with UnitOfWork(url) as uow:
        order = uow.session.execute(select(Order).join(OrderLine).where(
            OrderLine.status == OrderLineStatus.WAITING_STOCK).order_by(Order.id.desc())).scalars().first()
        return order.number, order.email


def restock(url: str, sku: str, units: int = 5) -> None:
    """Stock arrives as a merchant's one-row import (`python -m catalog import`)."""
    with UnitOfWork(url) as uow:
        p = uow.catalog.product_for_sku(sku)
        price = next(v.price for v in uow.catalog.sellable_variants([p.id])[p.id] if v.sku == sku)
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["sku", "title", "brand", "description", "category", "price", "on_hand"])
        writer.writerow([sku, p.title, p.brand or "", p.description, p.category, str(price), str(units)])
    try:
        result = subprocess.run([sys.executable, "-m", "catalog", "import", fh.name], cwd=ROOT,
                                env=dict(os.environ, DATABASE_URL=url), capture_output=True, text=True, timeout=120)
    finally:
        os.unlink(fh.name)
    assert result.returncode == 0, result.stderr


def texts(messages: list[dict]) -> str:
    """What the shopper reads of Rasa's REST replies."""
    return " ".join(m.get("text", "") for m in messages)
