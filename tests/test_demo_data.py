"""Tests for catalog.demo_data: the demo store must be deterministic, valid per the
catalog import format (../shared/spec/catalog-format.md) and contain the stockout
situations the assistant is demoed on."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest

from catalog.demo_data import (
    COLUMNS, DemoStore, ExtraOffer, build_demo_store, generate_rows,
)

TODAY = date(2025, 3, 14)
REQUIRED = ("sku", "title", "description", "category", "price", "on_hand")
INT_COLUMNS = ("on_hand", "reserved", "safety_stock", "supplier_lead_time_days", "incoming_qty")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def store() -> DemoStore:
    return build_demo_store(TODAY)


def available(row: dict[str, str]) -> int:
    return int(row["on_hand"]) - int(row["reserved"] or 0) - int(row["safety_stock"] or 0)


def row_errors(row: dict[str, str]) -> list[str]:
    """Every way a row can break the catalog import format."""
    errors = []
    if set(row) != set(COLUMNS):
        errors.append(f"columns {sorted(set(row) ^ set(COLUMNS))}")
    if not all(isinstance(v, str) for v in row.values()):
        errors.append("non-string value")
    for col in REQUIRED:
        if col != "description" and not row.get(col):
            errors.append(f"{col} missing")
    if not 1 <= len(row["sku"]) <= 64:
        errors.append("sku length")
    for col in INT_COLUMNS:
        if row[col] and not (row[col].isdigit() and int(row[col]) >= 0):
            errors.append(f"{col}={row[col]!r}")
    if row["max_per_customer"] and not (row["max_per_customer"].isdigit() and int(row["max_per_customer"]) >= 1):
        errors.append("max_per_customer")
    try:
        price = Decimal(row["price"])
        if price < 0 or price.as_tuple().exponent != -2:
            errors.append(f"price {row['price']}")
    except InvalidOperation:
        errors.append(f"price {row['price']!r}")
    if row["currency"] != "USD":
        errors.append("currency")
    if row["incoming_eta"]:
        try:
            date.fromisoformat(row["incoming_eta"])
        except ValueError:
            errors.append("incoming_eta")
    if bool(row["incoming_qty"]) != bool(row["incoming_eta"]):
        errors.append("incoming_qty without eta or vice versa")
    try:
        if not isinstance(json.loads(row["attributes"]), dict):
            errors.append("attributes not an object")
    except json.JSONDecodeError:
        errors.append("attributes JSON")
    for col in ("preorder_allowed", "backorder_allowed"):
        if row[col] not in ("", "true", "false"):
            errors.append(col)
    if not row["category"] or any(not part.strip() for part in row["category"].split(">")):
        errors.append("category path")
    if row["image_url"] != f"https://shop.example/img/{row['sku']}.jpg":
        errors.append("image_url")
    return errors


def test_deterministic_for_same_today_and_seed(store):
    assert build_demo_store(TODAY) == store
    assert build_demo_store(TODAY, seed=8) != store


def test_deterministic_across_processes():
    """Hash randomisation must not leak in (no iteration over sets of strings)."""
    code = ("import hashlib; from datetime import date; from catalog.demo_data import build_demo_store;"
            "print(hashlib.sha256(repr(build_demo_store(date(2025, 3, 14))).encode()).hexdigest())")
    digests = {
        subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": hashseed}).stdout
        for hashseed in ("1", "2")
    }
    assert len(digests) == 1


def test_size_and_categories(store):
    assert len(store.rows) >= 1000
    categories = {r["category"] for r in store.rows}
    assert len(categories) >= 15
    assert all(" > " in c for c in categories)


def test_every_row_is_valid_catalog_format(store):
    bad = {r["sku"]: row_errors(r) for r in store.rows if row_errors(r)}
    assert not bad


def test_skus_unique(store):
    skus = [r["sku"] for r in store.rows]
    assert len(skus) == len(set(skus))


def test_about_ten_percent_out_of_stock(store):
    share = sum(available(r) <= 0 for r in store.rows) / len(store.rows)
    assert 0.07 <= share <= 0.14


def test_out_of_stock_restock_situations(store):
    oos = [r for r in store.rows if available(r) <= 0]
    with_incoming = [r for r in oos if r["incoming_qty"]]
    lead_time_only = [r for r in oos if not r["incoming_qty"] and r["supplier_lead_time_days"]]
    nothing = [r for r in oos if not r["incoming_qty"] and not r["supplier_lead_time_days"]]
    assert with_incoming and lead_time_only and nothing
    assert 0.3 <= len(with_incoming) / len(oos) <= 0.5
    for r in with_incoming:
        assert 3 <= (date.fromisoformat(r["incoming_eta"]) - TODAY).days <= 45
    assert any(r["backorder_allowed"] == "true" for r in oos)
    assert any(r["max_per_customer"] for r in store.rows)
    assert any(r["incoming_qty"] for r in store.rows if available(r) > 0)  # regular replenishment


def test_variants_share_title_brand_category(store):
    groups = defaultdict(list)
    for r in store.rows:
        groups[(r["title"], r["brand"], r["category"])].append(r)
    multi = [g for g in groups.values() if len(g) > 1]
    assert len(multi) >= 50
    for rows in multi:
        attrs = [json.loads(r["attributes"]) for r in rows]
        variant_keys = [(a.get("color"), a.get("size")) for a in attrs]
        assert len(set(variant_keys)) == len(rows), "variants of one model must differ"
    shoes = [g for g in multi if g[0]["category"] == "Shoes > Running"]
    assert shoes and all("size" in json.loads(r["attributes"]) for g in shoes for r in g)


def test_edge_case_titles(store):
    titles = {r["title"] for r in store.rows}
    assert "Café Crème Espresso Cups" in titles
    assert any("'" in t for t in titles) and any("&" in t for t in titles)
    assert any('"' in t and "," in t for t in titles)
    assert any(sum(c.isdigit() for c in t) >= 6 for t in titles)


def test_confusables_and_substitute_groups(store):
    titles = " | ".join(r["title"] for r in store.rows)
    for phrase in ("Coffee Maker", "Coffee Grinder", "Whole Bean Coffee", "Running Shoe",
                   "Running Socks", "Phone Case", "Phone Charger", "Dog Food", "Dog Bed"):
        assert phrase in titles
    by_model = defaultdict(list)
    for r in store.rows:
        if json.loads(r["attributes"])["type"] in ("road running shoe", "drip coffee maker"):
            by_model[(r["category"], r["title"], r["brand"])].append(r)
    for category in ("Shoes > Running", "Kitchen > Coffee Machines"):
        models = [rows for key, rows in by_model.items() if key[0] == category]
        assert len({rows[0]["brand"] for rows in models}) >= 3
        assert any(all(available(r) <= 0 for r in rows) for rows in models)
        assert any(all(available(r) > 0 for r in rows) for rows in models)


def test_extra_offers(store):
    rows = {r["sku"]: r for r in store.rows}
    assert all(isinstance(o, ExtraOffer) and o.sku in rows for o in store.extra_offers)
    assert all(o.supplier != rows[o.sku]["supplier"] for o in store.extra_offers)
    supplier_names = {s.name for s in store.suppliers}
    assert all(o.supplier in supplier_names and o.lead_time_days > 0 for o in store.extra_offers)
    assert all(o.price >= 0 and o.price.as_tuple().exponent == -2 for o in store.extra_offers)
    rescues = {o.sku for o in store.extra_offers if o.supplier_qty and available(rows[o.sku]) <= 0}
    assert 15 <= len(rescues) <= 25
    assert any(o.supplier_qty == 0 for o in store.extra_offers)
    assert any(o.supplier_qty is None for o in store.extra_offers)


def test_suppliers(store):
    assert 5 <= len(store.suppliers) <= 8
    assert len({s.lead_time_days for s in store.suppliers}) >= 4
    assert all(2 <= s.lead_time_days <= 30 and 0 <= s.reliability <= 1 for s in store.suppliers)
    names = {s.name for s in store.suppliers}
    assert all(r["supplier"] in names for r in store.rows)
    assert sum(bool(r["supplier_lead_time_days"]) for r in store.rows) / len(store.rows) > 0.8


def test_customers(store):
    assert 40 <= len(store.customers) <= 60
    emails = [c.email for c in store.customers]
    assert len(set(emails)) == len(emails)
    assert all(e.endswith("@example.com") and e.isascii() for e in emails)
    telegram = [c.telegram_id for c in store.customers if c.telegram_id]
    assert telegram and all(t.isdigit() for t in telegram)


def test_orders(store):
    rows = {r["sku"]: r for r in store.rows}
    emails = {c.email for c in store.customers}
    assert 100 <= len(store.orders) <= 150
    numbers = [o.number for o in store.orders]
    assert len(set(numbers)) == len(numbers) and all(len(n) == 6 and n.isdigit() for n in numbers)
    for o in store.orders:
        assert o.customer_email in emails
        assert TODAY - timedelta(days=30) <= o.placed_on < TODAY
        assert o.lines and all(line.sku in rows and line.quantity >= 1 for line in o.lines)
        assert len({line.sku for line in o.lines}) == len(o.lines)
        statuses = [line.status for line in o.lines]
        assert set(statuses) <= {"shipped", "packed", "waiting_stock", "pending"}
        shipped = statuses.count("shipped")
        expected = "shipped" if shipped == len(statuses) else "partially_shipped" if shipped else "open"
        assert o.status == expected
    hit = [o for o in store.orders
           if any(line.status == "waiting_stock" and available(rows[line.sku]) <= 0 for line in o.lines)]
    assert 15 <= len(hit) <= 25
    assert {o.status for o in store.orders} == {"open", "partially_shipped", "shipped"}


def test_dates_relative_to_today():
    later = build_demo_store(TODAY + timedelta(days=100))
    etas = [date.fromisoformat(r["incoming_eta"]) for r in later.rows if r["incoming_eta"]]
    assert min(etas) >= TODAY + timedelta(days=103)
    assert min(o.placed_on for o in later.orders) >= TODAY + timedelta(days=70)


def test_generate_rows_small_is_valid_and_streams():
    rows = list(generate_rows(2000, TODAY))
    assert len(rows) == 2000
    assert not [r["sku"] for r in rows if row_errors(r)]
    assert rows == list(generate_rows(2000, TODAY))
    assert len({r["category"] for r in rows}) >= 15
    share = sum(available(r) <= 0 for r in rows) / len(rows)
    assert 0.07 <= share <= 0.14
    demo_skus = {r["sku"] for r in build_demo_store(TODAY).rows}
    assert not demo_skus & {r["sku"] for r in rows}
    assert next(iter(generate_rows(10**9, TODAY)))["sku"]  # lazy: no up-front work for n


def test_generate_rows_100k_unique_and_quick():
    start = time.perf_counter()
    skus = set()
    count = 0
    for row in generate_rows(100_000, TODAY):
        skus.add(row["sku"])
        count += 1
    elapsed = time.perf_counter() - start
    assert count == 100_000 and len(skus) == 100_000
    assert elapsed < 10, f"generate_rows(100_000) took {elapsed:.1f}s"
