"""Substitutes at scale: index build, incremental update, query latency, memory.

Goals at 100,000 generated rows (catalog.demo_data.generate_rows, imported with the real
importer into SQLite): update after 100 changed products < 2 s, query p95 < 20 ms
(embedding neighbours + stock + filtering + reasons), resident memory < 1.5 GB.

Usage: .venv/bin/python bench/substitutes_bench.py [--products 100000] [--queries 200]
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select, update  # noqa: E402

from catalog.db.migrate import upgrade  # noqa: E402
from catalog.db.orm import Product, Variant  # noqa: E402
from catalog.demo_data import COLUMNS, generate_rows  # noqa: E402
from catalog.search.embedder import shared_embedder  # noqa: E402
from catalog.services.importing import import_file  # noqa: E402
from catalog.services.substitutes import build_index, find_substitutes, load_index  # noqa: E402
from catalog.uow import UnitOfWork  # noqa: E402


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=100_000, help="catalog rows (variants) to generate")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catalog.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(generate_rows(args.products, dt.date.today()))
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        t = time.perf_counter()
        import_file(UnitOfWork(url), path)
        print(f"imported {args.products:,} rows in {time.perf_counter() - t:.1f} s")
        embedder = shared_embedder()

        t = time.perf_counter()
        report = build_index(UnitOfWork(url), embedder)
        build = time.perf_counter() - t
        print(f"full index build: {report.total:,} products embedded in {build:.1f} s "
              f"({report.total / build:,.0f} products/s)")

        with UnitOfWork(url) as uow:
            ids = uow.session.execute(select(Product.id)).scalars().all()
            changed = random.Random(1).sample(ids, min(100, len(ids)))
            uow.session.execute(update(Product).where(Product.id.in_(changed))
                                .values(description=Product.description + " Updated."))
            uow.commit()
        t = time.perf_counter()
        report = build_index(UnitOfWork(url), embedder)
        upd = time.perf_counter() - t
        print(f"update after {len(changed)} changed products: {report.embedded} embedded in {upd:.2f} s (goal < 2 s)")

        index = load_index(url)
        with UnitOfWork(url) as uow:
            rows = uow.session.execute(select(Variant.product_id, Variant.sku)).all()
            first = {}
            for pid, sku in rows:
                first.setdefault(pid, sku)
            stock = uow.catalog.sellable_variants(list(first))
        oos = [first[p] for p in first if all(v.available <= 0 for v in stock[p])]
        pool = oos or list(first.values())
        skus = random.Random(2).sample(pool, min(args.queries, len(pool)))
        find_substitutes(UnitOfWork(url), skus[0], index=index)  # warm-up
        latencies, answered = [], 0
        for sku in skus:
            t = time.perf_counter()
            answered += bool(find_substitutes(UnitOfWork(url), sku, k=5, index=index))
            latencies.append((time.perf_counter() - t) * 1000)
        latencies.sort()
        p50, p95 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.95) - 1]
        print(f"query latency over {len(skus)} out-of-stock skus: p50 {p50:.1f} ms, p95 {p95:.1f} ms "
              f"(goal p95 < 20 ms); {answered} got suggestions")
        print(f"peak resident memory: {rss_mb():,.0f} MB (goal < 1,500 MB)")


if __name__ == "__main__":
    main()
