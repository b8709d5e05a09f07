#!/usr/bin/env python
"""Substitutes on a merchant-like feed: the development catalog in ../shared/eval/catalog_dev.

The catalog (feed-like titles, a `type` column on about one product in five) is imported
with the project's importer into a fresh SQLite database, the substitutes index is built
as the action server builds it, and every product with nothing available is asked for
three substitutes. Labels come from the set's `groups.json` (families of genuine
substitutes, and pairs of families that are easy to mistake for each other); they are
read only here, never by the ranking.

Reported (eval/substitutes_eval.evaluate):
- P@1, P@3: share of the suggestions shown (at most 1 / 3) that are in the query's
  family AND can be sold now (on the shelf, or the same item from a supplier shipping
  now; a pre-order counts as wrong), averaged over queries with a suggestion;
- coverage: share of queries whose family has something in stock that got a suggestion;
- confusable: suggestions from a family listed as confusable with the query's (goal 0).

Usage: .venv/bin/python eval/catalog_dev_substitutes.py [--dir ../shared/eval/catalog_dev]
       [--report reports/catalog_dev_substitutes.json] [--show-errors]
`run()` returns the same dict for `make eval` to merge into reports/eval.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "eval"))

from catalog.db.migrate import upgrade  # noqa: E402
from catalog.services.importing import import_file  # noqa: E402
from catalog.uow import UnitOfWork  # noqa: E402
from substitutes_eval import evaluate, summary_line, write_report  # noqa: E402

DEFAULT_DIR = REPO.parent / "shared" / "eval" / "catalog_dev"
GOALS = {"p_at_3": 0.90, "coverage": 0.95, "confusable_suggestions": 0}


def load_labels(folder: Path) -> tuple[dict[str, str], set[frozenset[str]]]:
    """sku -> family, and the confusable pairs of families."""
    data = json.loads((folder / "groups.json").read_text(encoding="utf-8"))
    label = {sku: family for family, skus in data["groups"].items() for sku in skus}
    pairs = {frozenset(pair) for pair in data.get("confusable", [])}
    return label, pairs


def run(folder: Path = DEFAULT_DIR, k: int = 3) -> dict:
    """Import the catalog into a temporary database and measure; returns the report."""
    label, pairs = load_labels(folder)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/catalog_dev.db"
        upgrade(url)
        imported = import_file(UnitOfWork(url), folder / "catalog.csv")
        if imported.errors:
            raise SystemExit(f"catalog_dev did not import cleanly: {imported.errors[:3]}")
        result = evaluate(url, label, k=k, confused=lambda a, b: frozenset((a, b)) in pairs, in_stock_only=True)
    return {"catalog": str(folder), "products": imported.imported, "families": len(set(label.values())),
            "k": k, "goals": GOALS, **result}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--report", type=Path, default=REPO / "reports" / "catalog_dev_substitutes.json")
    parser.add_argument("--show-errors", action="store_true", help="print every wrong or missing suggestion")
    args = parser.parse_args()
    report = run(args.dir)
    print(summary_line("catalog_dev", report) + f"  p95 {report['query_ms_p95']} ms")
    if args.show_errors:
        for e in report["errors"]:
            print(f"  {e['query']} [{e['query_group']}] -> {e['suggested']} {e['title']!r} "
                  f"[{e['group']}]{' (pre-order)' if e['preorder'] else ''}")
        for u in report["unanswered"]:
            print(f"  {u['query']} [{u['query_group']}]: nothing suggested"
                  f"{'' if u['family_in_stock'] else ' (nothing of its family in stock)'}")
    write_report(args.report, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
