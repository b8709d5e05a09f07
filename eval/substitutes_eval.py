#!/usr/bin/env python
"""How often the substitutes shown for an out-of-stock product are real substitutes.

Labels come from the demo store's generator (catalog/demo_data.py, ``DemoStore.kinds``):
every product model is generated from a (category, kind) table row, and models of the same
row are substitutes for each other. Models that share words, brand or category but come from a
different row are *confusable* non-substitutes: a Morning Ritual coffee grinder for a
Morning Ritual coffee maker, Tempo running socks for Tempo running shoes, a
single-serve coffee maker for a drip coffee maker, a replacement jar for a blender, kids'
running shoes for adult ones. The labels live only here; the
ranking (catalog/domain/substitutes.py, catalog/services/substitutes.py) never sees them.

Queries: every product whose variants are all unavailable, asked by its first SKU.
Reported, per query set:
- P@1, P@3: share of the suggestions shown (at most 1 / 3) that are labelled
  substitutes, averaged over queries that got at least one suggestion;
- coverage: share of queries that got at least one suggestion (a strict ranking
  can buy precision with silence, so both are shown);
- confusable: suggestions that came from a confusable group (should be 0).

Two catalogs are measured: the demo store as generated (about one product in five has a
`type` attribute), and the same store with the `type` attribute removed from every row, so
"same kind" has to come from titles and the rest alone, as in a merchant catalog without
that column.

Usage: .venv/bin/python eval/substitutes_eval.py [--report reports/substitutes_eval.json]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import select  # noqa: E402

from catalog.db.migrate import upgrade  # noqa: E402
from catalog.db.orm import Product, Variant  # noqa: E402
from catalog.demo_data import build_demo_store  # noqa: E402
from catalog.importing.reader import RawRow  # noqa: E402
from catalog.services.importing import import_raw_rows  # noqa: E402
from catalog.services.seeding import seed_demo_store  # noqa: E402
from catalog.services.substitutes import build_index, find_substitutes, load_index  # noqa: E402
from catalog.uow import UnitOfWork  # noqa: E402
from catalog.wording.substitutes import reason_text  # noqa: E402

TODAY = dt.date(2026, 11, 27)


def labels(today: dt.date) -> dict[str, tuple[str, str]]:
    """sku -> the generator's (category, kind) group of its model (most rows carry no `type`)."""
    store = build_demo_store(today)
    return {row["sku"]: (row["category"], store.kinds[row["sku"]]) for row in store.rows}


def _words(text: str) -> set[str]:
    return {w for w in text.lower().replace(">", " ").split() if len(w) > 2}


def confusable(a: tuple[str, str], b: tuple[str, str]) -> bool:
    """Different groups that share a word of category or type: easy to mistake."""
    return a != b and bool(_words(" ".join(a)) & _words(" ".join(b)))


def seed(url: str, strip_type: bool) -> None:
    upgrade(url)
    if not strip_type:
        seed_demo_store(UnitOfWork(url), TODAY)
        return
    rows = []
    for row in build_demo_store(TODAY).rows:
        attrs = json.loads(row["attributes"])
        attrs.pop("type", None)
        rows.append({**row, "attributes": json.dumps(attrs, ensure_ascii=False)})
    report = import_raw_rows(UnitOfWork(url), (RawRow(i + 2, r) for i, r in enumerate(rows)), reference="eval")
    assert not report.errors, report.errors[:3]


def evaluate(url: str, label: dict[str, str | tuple], k: int = 3,
             confused: Callable[[object, object], bool] = confusable, in_stock_only: bool = False) -> dict:
    """Build the index as the action server does, then ask for `k` substitutes of every
    product with nothing available, as the action server asks.

    `label`: sku -> group (substitutes share a group); `confused(a, b)`: whether group b
    is easy to mistake for group a. A suggestion counts as right when it is in the
    query's group and, with `in_stock_only`, can be sold now (on the shelf, or the same
    item from a supplier that ships now); pre-orders then count as wrong."""
    uow = UnitOfWork(url)
    start = time.perf_counter()
    build_index(uow)
    index_seconds = time.perf_counter() - start
    index = load_index(url)
    with uow:
        skus = uow.session.execute(
            select(Product.id, Variant.sku).join(Variant, Variant.product_id == Product.id).order_by(Variant.id)
        ).all()
        by_product: dict[int, list[str]] = {}
        for pid, sku in skus:
            by_product.setdefault(pid, []).append(sku)
        stock = uow.catalog.sellable_variants(list(by_product))
    in_stock_groups = {label[v.sku] for pid in by_product for v in stock[pid] if v.available > 0 and v.sku in label}
    queries = [skus_[0] for pid, skus_ in by_product.items() if all(v.available <= 0 for v in stock[pid])]
    p1, p3, answered, covered_queries, confused_n, shown, same_item = [], [], 0, 0, 0, 0, 0
    errors: list[dict] = []
    unanswered: list[dict] = []
    latencies = []
    for sku in queries:
        t = time.perf_counter()
        found = find_substitutes(UnitOfWork(url), sku, k=k, index=index)
        latencies.append(time.perf_counter() - t)
        coverable = label[sku] in in_stock_groups
        covered_queries += coverable
        if not found:
            unanswered.append({"query": sku, "query_group": label[sku], "family_in_stock": coverable})
            continue
        answered += 1
        hits = [label.get(s.sku) == label[sku] and (not in_stock_only or s.available > 0 or s.same_item)
                for s in found]
        shown += len(found)
        same_item += sum(s.same_item for s in found)
        confused_n += sum(confused(label[sku], label.get(s.sku)) for s in found)
        p1.append(float(hits[0]))
        p3.append(sum(hits[:3]) / len(hits[:3]))
        for s, ok in zip(found, hits):
            if not ok:
                errors.append({"query": sku, "query_group": label[sku], "suggested": s.sku, "title": s.title,
                               "group": label.get(s.sku), "preorder": s.preorder,
                               "reason": reason_text(s.reason, TODAY)})
    latencies.sort()
    covered = sum(1 for sku in queries if label[sku] in in_stock_groups
                  and not any(u["query"] == sku for u in unanswered))
    return {
        "queries": len(queries), "answered": answered,
        "coverage": round(covered / covered_queries, 4) if covered_queries else 0.0,
        "p_at_1": round(sum(p1) / len(p1), 4) if p1 else 0.0,
        "p_at_3": round(sum(p3) / len(p3), 4) if p3 else 0.0,
        "suggestions_shown": shown, "same_item_other_supplier": same_item,
        "confusable_suggestions": confused_n,
        "index_build_seconds": round(index_seconds, 1),
        "query_ms_p50": round(latencies[len(latencies) // 2] * 1000, 1) if latencies else None,
        "query_ms_p95": round(latencies[int(0.95 * (len(latencies) - 1))] * 1000, 1) if latencies else None,
        "errors": errors,
        "unanswered": unanswered,
    }


def summary_line(name: str, r: dict) -> str:
    return (f"{name:24s} queries {r['queries']:3d}  coverage {r['coverage']:.2f}  "
            f"P@1 {r['p_at_1']:.3f}  P@3 {r['p_at_3']:.3f}  confusable shown {r['confusable_suggestions']}  "
            f"(same item via other supplier: {r['same_item_other_supplier']})")


def run(strip_type_too: bool = True) -> dict:
    """The demo store as generated and, with `strip_type_too`, without its type attribute."""
    label = labels(TODAY)
    results: dict = {"date": TODAY.isoformat(), "label_groups": len(Counter(label.values())), "k": 3,
                     "goal_p_at_3": 0.9}
    with tempfile.TemporaryDirectory() as tmp:
        runs = [("demo_store", False)] + ([("without_type_attribute", True)] if strip_type_too else [])
        for name, strip in runs:
            url = f"sqlite:///{tmp}/{name}.db"
            seed(url, strip)
            results[name] = evaluate(url, label)
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--report", type=Path, default=REPO / "reports" / "substitutes_eval.json")
    parser.add_argument("--only-demo", action="store_true", help="skip the run without the type attribute")
    parser.add_argument("--show-errors", action="store_true", help="print every wrong or missing suggestion")
    args = parser.parse_args()
    report = run(strip_type_too=not args.only_demo)
    for name in ("demo_store", "without_type_attribute"):
        if name in report:
            print(summary_line(name, report[name]))
            if args.show_errors:
                for e in report[name]["errors"]:
                    print(f"  {e['query']} ({e['query_group']}) -> {e['suggested']} {e['title']!r} ({e['group']})")
                for u in report[name]["unanswered"]:
                    print(f"  {u['query']} ({u['query_group']}): nothing suggested")
    for name in ("demo_store", "without_type_attribute"):
        if name in report:  # the file keeps a sample; --show-errors prints them all
            report[name]["errors"] = report[name]["errors"][:50]
    write_report(args.report, report)
    return 0


def write_report(path: Path, report: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"report written to {path}")


if __name__ == "__main__":
    raise SystemExit(main())
