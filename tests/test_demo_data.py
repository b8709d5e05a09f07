"""Tests for catalog.demo_data: the demo store must be deterministic, valid per the
catalog import format (../shared/spec/catalog-format.md) and contain the stockout
situations the assistant is demoed on."""
from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest

from catalog.demo_data import (
    CATEGORIES, COLUMNS, DemoStore, ExtraOffer, build_demo_store, generate_rows,
)
from catalog.wording.format import product_name

TODAY = date(2025, 3, 14)
REQUIRED = ("sku", "title", "description", "category", "price", "on_hand")
INT_COLUMNS = ("on_hand", "reserved", "safety_stock", "supplier_lead_time_days", "incoming_qty")
REPO = Path(__file__).resolve().parents[1]
CATALOG_DEV = REPO.parent / "shared" / "eval" / "catalog_dev" / "catalog.csv"


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


def _models(store: DemoStore) -> dict[tuple[str, str, str], list[dict[str, str]]]:
    """(category, title, brand) -> the rows of that product model, as the importer groups them."""
    models = defaultdict(list)
    for r in store.rows:
        models[(r["category"], r["title"], r["brand"])].append(r)
    return models


def _kinds() -> dict[tuple[str, str], object]:
    return {(c.path, k.label): k for c in CATEGORIES for k in c.kinds}


def _head_words(kind) -> set[str]:
    """The last word of every noun titles use for a kind ("Trainers", "Running Shoes" -> trainers, shoes)."""
    return {n.lower().split()[-1] for n in kind.nouns}


def test_confusables_and_substitute_groups(store):
    models = _models(store)
    titles = " | ".join(title for _, title, _ in models)
    for phrase in ("Coffee Maker", "Coffee Grinder", "Coffee Beans", "Running Shoe", "Running Socks",
                   "Phone Case", "Charger", "Dog Food", "Dog Bed"):
        assert phrase in titles
    assert any(c == "Shoes > Running" and re.search(r"\b(kids|junior|youth)\b", t, re.IGNORECASE) for c, t, _ in models)
    for category, kind in (("Shoes > Running", "road running shoe"), ("Kitchen > Coffee Machines", "drip coffee maker"),
                           ("Kitchen > Blenders", "countertop blender"), ("Home > Air Care", "air purifier")):
        group = [rows for (c, _, _), rows in models.items() if c == category and store.kinds[rows[0]["sku"]] == kind]
        assert len({rows[0]["brand"] for rows in group}) >= 3
        assert any(all(available(r) <= 0 for r in rows) for rows in group)
        assert sum(all(available(r) > 0 for r in rows) for rows in group) >= 2
    # Accessories and kids' versions sit in the category of what they go with.
    kinds = _kinds()
    accessories = {(c, k.accessory_of) for (c, _), k in kinds.items() if k.accessory_of}
    assert len(accessories) >= 8 and all((c, device) in kinds for c, device in accessories)


def test_titles_look_like_a_merchant_feed(store):
    """Brand first, last or missing (sometimes in capitals), pipes and dashes with specs,
    model numbers, pack sizes, titles without a word for the kind, and no `type` on most."""
    models = _models(store)
    kinds = _kinds()
    n = len(models)

    def share(test) -> float:
        return sum(bool(test(c, t, b, rows)) for (c, t, b), rows in models.items()) / n

    def brand_last(t: str, b: str) -> bool:
        t, b = t.lower(), b.lower()
        return t.endswith(b) or t.endswith(f"({b})")

    assert share(lambda c, t, b, rows: " | " in t) >= 0.15
    assert share(lambda c, t, b, rows: " - " in t or " – " in t) >= 0.15
    assert share(lambda c, t, b, rows: brand_last(t, b)) >= 0.10
    assert share(lambda c, t, b, rows: b.upper() != b and b.upper() in t) >= 0.10
    assert share(lambda c, t, b, rows: b.lower() not in t.lower()) >= 0.05
    assert share(lambda c, t, b, rows: re.search(r"\b[A-Z]{1,3}-?\d{1,4}[a-z0]*\b", t)) >= 0.10
    assert share(lambda c, t, b, rows: re.search(r"\b(pack|pairs|set of|\d+ x \d+)\b", t, re.IGNORECASE)) >= 0.03

    def without_noun(c: str, t: str, b: str, rows: list[dict[str, str]]) -> bool:
        kind = kinds.get((c, store.kinds[rows[0]["sku"]]))
        return kind is not None and not kind.accessory_of and not _head_words(kind) & set(re.findall(r"[a-z']+", t.lower()))

    assert share(without_noun) >= 0.06
    typed = [json.loads(rows[0]["attributes"]).get("type") for rows in models.values()]
    assert 0.10 <= sum(t is not None for t in typed) / n <= 0.30
    for rows in models.values():  # where a product keeps a type, it is its kind, on every variant
        types = {json.loads(r["attributes"]).get("type") for r in rows}
        assert len(types) == 1 and types <= {None, store.kinds[rows[0]["sku"]]}
    for _, title, _ in models:
        assert title == " ".join(title.split()) and "||" not in title.replace(" ", "") and not title.endswith("|")


def test_one_kind_is_called_by_several_words(store):
    """Synonyms across products: trainers / sneakers / running shoes, charger / power adapter / wall plug."""
    kinds = _kinds()
    used = defaultdict(set)
    for (category, title, _), rows in _models(store).items():
        kind = kinds.get((category, store.kinds[rows[0]["sku"]]))
        if kind is not None:
            used[(category, kind.label)] |= {noun for noun in kind.nouns if noun.lower() in title.lower()}
    several = [key for key, kind in kinds.items() if len(kind.nouns) >= 2 and key in used]
    assert sum(len(used[key]) >= 2 for key in several) / len(several) >= 0.8
    assert len(used[("Shoes > Running", "road running shoe")] & {"Trainers", "Sneakers", "Road Runners"}) >= 2
    assert len(used[("Electronics > Chargers", "USB-C charger")] & {"Power Adapter", "Power Brick", "Wall Plug"}) >= 1


def test_accessories_name_the_device_they_fit(store):
    kinds = _kinds()
    models = _models(store)
    device_brands = defaultdict(set)
    for (category, _, brand), rows in models.items():
        kind = kinds.get((category, store.kinds[rows[0]["sku"]]))
        if kind is not None and not kind.accessory_of:
            device_brands[category].add(brand.lower())
    accessories = [(c, t) for (c, t, _), rows in models.items()
                   if (c, store.kinds[rows[0]["sku"]]) in kinds and kinds[(c, store.kinds[rows[0]["sku"]])].accessory_of]
    assert len(accessories) >= 15
    for category, title in accessories:
        assert any(b in title.lower() for b in device_brands[category]), title
    assert sum(" for " in t or "Compatible with" in t for _, t in accessories) / len(accessories) >= 0.5


def test_a_brand_written_anywhere_in_a_title_is_named_once(store):
    """Brand-last and capitalised brands are not said twice ("Stridewell Trainers by Stridewell")."""
    for _, title, brand in _models(store):
        said = product_name(title, brand).lower().count(brand.lower())
        assert said == max(1, title.lower().count(brand.lower())), title


@pytest.mark.skipif(not CATALOG_DEV.exists(), reason="../shared/eval is not beside this checkout")
def test_nothing_is_shared_with_the_evaluation_catalog(store):
    """The demo store is what things get tuned on: it must not hold the held-out catalog's brands or titles."""
    with CATALOG_DEV.open(encoding="utf-8") as fh:
        dev = list(csv.DictReader(fh))
    dev_brands = {r["brand"].strip().lower() for r in dev if r.get("brand", "").strip()}
    dev_titles = " || ".join(r["title"].strip().lower() for r in dev)
    brands = {r["brand"].strip().lower() for r in store.rows}
    assert not brands & dev_brands
    assert not [b for b in brands if re.search(rf"(?<!\w){re.escape(b)}(?!\w)", dev_titles)]
    assert not {r["title"].strip().lower() for r in store.rows} & {t for t in dev_titles.split(" || ")}


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
