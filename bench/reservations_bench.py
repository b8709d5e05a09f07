"""Reservation throughput on PostgreSQL with 16 concurrent clients, and the time to queue
10,000 restock alerts when stock arrives.

    .venv/bin/python -m bench.reservations_bench [--clients 16] [--reservations 2000] [--alerts 10000]
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from catalog.db.migrate import upgrade  # noqa: E402
from catalog.clock import utcnow  # noqa: E402
from catalog.db.orm import (  # noqa: E402
    Customer, Product, PurchaseOrder, PurchaseOrderLine, RestockSubscription, StockLevel, Supplier, Variant,
)
from catalog.domain.statuses import PurchaseOrderStatus, ReservationKind, SubscriptionStatus  # noqa: E402
from catalog.services.purchasing import receive_purchase_order  # noqa: E402
from catalog.services.reservations import Outcome, reserve  # noqa: E402
from catalog.uow import UnitOfWork  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


def fresh_postgres(name: str = "stockout_bench_promises") -> str:
    admin = create_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    url = f"{PG_SERVER}/{name}"
    upgrade(url)
    return url


def setup(url: str, variants: int, incoming: int, customers: int) -> tuple[list[str], list[int]]:
    with UnitOfWork(url) as uow:
        s = uow.session
        supplier = Supplier(name="Bench Co", lead_time_days=10)
        product = Product(group_key="bench", title="Bench Shoe", category="Shoes", description="")
        s.add_all([supplier, product])
        s.flush()
        po = PurchaseOrder(reference="PO-BENCH", supplier_id=supplier.id, status=PurchaseOrderStatus.OPEN)
        s.add(po)
        s.flush()
        skus = [f"B-{i:03d}" for i in range(variants)]
        vids = list(s.execute(insert(Variant).returning(Variant.id), [
            dict(product_id=product.id, sku=k, sku_key=k, attributes={}, price=Decimal("50.00"), currency="USD",
                 preorder_allowed=True, backorder_allowed=False, updated_at=utcnow()) for k in skus]).scalars())
        s.execute(insert(StockLevel), [dict(variant_id=v, location_id=1, on_hand=0, reserved=0, safety_stock=0) for v in vids])
        s.execute(insert(PurchaseOrderLine), [dict(purchase_order_id=po.id, variant_id=v, quantity=incoming,
                                                   quantity_received=0, eta=dt.date.today() + dt.timedelta(days=9),
                                                   status=PurchaseOrderStatus.OPEN) for v in vids])
        cids = list(s.execute(insert(Customer).returning(Customer.id),
                              [dict(name=f"c{i}", created_at=utcnow()) for i in range(customers)]).scalars())
        uow.commit()
    return skus, cids


def bench_reservations(clients: int, total: int) -> None:
    today = dt.date.today()
    url = fresh_postgres()
    variants = 8
    skus, cids = setup(url, variants, incoming=total, customers=total)
    jobs = [(cids[i], skus[i % variants]) for i in range(total)]
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        outcomes = list(pool.map(lambda job: reserve(UnitOfWork(url), job[0], job[1], 1, ReservationKind.PREORDER,
                                                     today=today).outcome, jobs))
    elapsed = time.perf_counter() - start
    ok = sum(o is Outcome.RESERVED for o in outcomes)
    print(f"  reservations: {ok:,} of {total:,} with {clients} concurrent clients over {variants} variants in "
          f"{elapsed:.2f} s -> {ok / elapsed:,.0f} reservations/s")
    # The contended case: everyone on one variant, 10 units left.
    url = fresh_postgres()
    skus, cids = setup(url, 1, incoming=10, customers=clients * 10)
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        outcomes = list(pool.map(lambda c: reserve(UnitOfWork(url), c, skus[0], 1, ReservationKind.PREORDER,
                                                   today=today).outcome, cids))
    elapsed = time.perf_counter() - start
    print(f"  contended: {len(cids)} requests for 10 units on one variant -> "
          f"{sum(o is Outcome.RESERVED for o in outcomes)} reserved, in {elapsed:.2f} s "
          f"({len(cids) / elapsed:,.0f} requests/s)")


def bench_alerts(n: int) -> None:
    url = fresh_postgres()
    skus, _ = setup(url, 1, incoming=n, customers=0)
    with UnitOfWork(url) as uow:
        vid, pid = uow.session.execute(text("SELECT id, product_id FROM variants")).one()
        cids = list(uow.session.execute(insert(Customer).returning(Customer.id),
                                        [dict(name=f"s{i}", created_at=utcnow()) for i in range(n)]).scalars())
        uow.session.execute(insert(RestockSubscription), [
            dict(customer_id=c, product_id=pid, variant_id=vid, channel="telegram", recipient=f"tg{c}",
                 status=SubscriptionStatus.ACTIVE,
                 created_at=utcnow()) for c in cids])
        uow.commit()
    start = time.perf_counter()
    report = receive_purchase_order(UnitOfWork(url), "PO-BENCH")
    elapsed = time.perf_counter() - start
    print(f"  restock alerts: {n:,} units arrive for {n:,} subscribers -> {report.alerts_queued:,} alerts and holds "
          f"queued in {elapsed:.2f} s (one transaction)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--reservations", type=int, default=2000)
    parser.add_argument("--alerts", type=int, default=10_000)
    args = parser.parse_args()
    print("reservation benchmark (PostgreSQL)")
    bench_reservations(args.clients, args.reservations)
    bench_alerts(args.alerts)


if __name__ == "__main__":
    main()
