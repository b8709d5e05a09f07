"""Substitutes at catalog scale: index build, incremental update, query latency, memory.

Generates a catalog of N products (default 100,000; catalog.demo_data.generate_rows,
about three variants each), imports it with the real importer into SQLite, then:

- full index build (every product embedded with the bundled all-MiniLM-L6-v2),
- update after 100 products changed, as `python -m catalog index` does it (goal < 2 s),
- query latency of find_substitutes for out-of-stock skus: neighbours of the same kind,
  stock, filtering and reasons (goal p95 < 20 ms),
- resident memory of the real action server holding this catalog (goal < 1.5 GB): it is
  started with the bench database (scripts/serve.sh), asked about out-of-stock products
  over Rasa's REST channel, and its peak RSS is read from /proc.

Usage: .venv/bin/python bench/substitutes_bench.py [--products 100000] [--queries 300]
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402
from sqlalchemy import select, update  # noqa: E402

from catalog.config import index_path  # noqa: E402
from catalog.db.migrate import upgrade  # noqa: E402
from catalog.db.orm import Product, Variant  # noqa: E402
from catalog.demo_data import COLUMNS, generate_rows  # noqa: E402
from catalog.search.embedder import shared_embedder  # noqa: E402
from catalog.search.resolver import ProductResolver  # noqa: E402
from catalog.search.semantic_index import SemanticIndex  # noqa: E402
from catalog.services.importing import import_file  # noqa: E402
from catalog.services.substitutes import build_index, find_substitutes, load_index  # noqa: E402
from catalog.uow import UnitOfWork  # noqa: E402


def write_catalog(path: Path, products: int) -> int:
    """Rows until `products` distinct products (title+brand+category) are written."""
    seen: set[tuple[str, str, str]] = set()
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for row in generate_rows(10 * products, dt.date.today()):
            key = (row["title"], row.get("brand", ""), row["category"])
            if key not in seen:
                if len(seen) == products:
                    break
                seen.add(key)
            writer.writerow(row)
            rows += 1
    return rows


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def out_of_stock_skus(url: str, n: int) -> list[str]:
    with UnitOfWork(url) as uow:
        rows = uow.session.execute(select(Variant.product_id, Variant.sku)).all()
        first: dict[int, str] = {}
        for pid, sku in rows:
            first.setdefault(pid, sku)
        sample = random.Random(2).sample(list(first), min(len(first), 20 * n))
        stock = uow.catalog.sellable_variants(sample)
    oos = [first[p] for p in sample if all(v.available <= 0 for v in stock[p])]
    return (oos or [first[p] for p in sample])[:n]


def action_server_memory(url: str, tmp: Path, skus: list[str]) -> tuple[float, float, float]:
    """Start the real servers on this catalog, ask about out-of-stock skus, read the
    action server's resident memory: (current MB, peak MB, p50 reply ms)."""
    from tests.servers import running

    with running(url, tmp / "servers.log", timeout=900) as servers:
        pid = next(int(p) for p in os.listdir("/proc") if p.isdigit() and _is_action_server(int(p), servers.action_url))
        replies = []
        for sku in skus:
            t = time.perf_counter()
            r = requests.post(f"{servers.rasa_url}/webhooks/rest/webhook",
                              json={"sender": f"bench-{uuid.uuid4().hex[:8]}", "message": f"is {sku} in stock?"},
                              timeout=60)
            r.raise_for_status()
            replies.append((time.perf_counter() - t) * 1000)
        status = Path(f"/proc/{pid}/status").read_text()
    field = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    kib = {k: int(field[k].split()[0]) for k in ("VmRSS", "VmHWM")}
    return kib["VmRSS"] / 1024, kib["VmHWM"] / 1024, pct(replies, 50)


def _is_action_server(pid: int, action_url: str) -> bool:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    port = action_url.rsplit(":", 1)[1].encode()
    return b"bot.action_server" in cmd and port in cmd


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--chat", type=int, default=30, help="chat questions for the action server's memory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        path = tmp / "catalog.csv"
        rows = write_catalog(path, args.products)
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        t = time.perf_counter()
        import_file(UnitOfWork(url), path)
        print(f"catalog: {args.products:,} products ({rows:,} rows) imported in {time.perf_counter() - t:.1f} s")
        embedder = shared_embedder()

        def index_update() -> tuple:
            t = time.perf_counter()
            report = build_index(UnitOfWork(url), embedder)
            return report, time.perf_counter() - t

        report, build = index_update()
        print(f"full index build: {report.total:,} products embedded in {build:.0f} s "
              f"({report.total / build:,.0f} products/s)")

        # Products edited within two minutes before the last run are looked at again (slow
        # transactions), so the first update re-hashes the catalog imported just before the
        # build (nothing is embedded again). Then the steady state: 100 products edited.
        report, seconds = index_update()
        print(f"first update after the import (re-checks the just-imported products, embeds "
              f"{report.embedded}): {seconds:.1f} s")
        with UnitOfWork(url) as uow:
            ids = uow.session.execute(select(Product.id)).scalars().all()
            changed = random.Random(1).sample(ids, min(100, len(ids)))
            uow.session.execute(update(Product).where(Product.id.in_(changed))
                                .values(description=Product.description + " Updated."))
            uow.commit()
        report, seconds = index_update()
        print(f"update after {len(changed)} changed products: {report.embedded} embedded, index saved, "
              f"in {seconds:.2f} s (goal < 2 s)")
        report, seconds = index_update()
        print(f"update with nothing changed: {seconds:.2f} s")

        index = load_index(url)
        skus = out_of_stock_skus(url, args.queries)
        for sku in skus[:5]:
            find_substitutes(UnitOfWork(url), sku, index=index)  # warm-up
        latencies, answered = [], 0
        for sku in skus:
            t = time.perf_counter()
            answered += bool(find_substitutes(UnitOfWork(url), sku, k=5, index=index))
            latencies.append((time.perf_counter() - t) * 1000)
        print(f"query latency over {len(skus)} out-of-stock skus: p50 {pct(latencies, 50):.1f} ms, "
              f"p95 {pct(latencies, 95):.1f} ms (goal p95 < 20 ms); {answered} got suggestions")

        # The action server also keeps the product-name index for understanding questions;
        # built here so the server starts from files, as it would in production.
        t = time.perf_counter()
        ProductResolver(lambda: UnitOfWork(url), embedder, SemanticIndex(index_path(url))).refresh(force=True)
        print(f"product-name index (chat search) built in {time.perf_counter() - t:.0f} s")
        rss, peak, reply = action_server_memory(url, tmp, skus[: args.chat])
        print(f"action server with {args.products:,} products: resident {rss:,.0f} MB, peak {peak:,.0f} MB "
              f"(goal < 1,500 MB); out-of-stock chat reply p50 {reply:.0f} ms")


if __name__ == "__main__":
    main()
