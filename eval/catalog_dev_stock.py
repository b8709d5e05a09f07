#!/usr/bin/env python
"""Stock questions on a feed-like catalog: is the answer about the right product, with the
right availability and restock date?

The catalog (../shared/eval/catalog_dev/catalog.csv) is imported into a fresh temporary
SQLite database through the project's own import service; the product resolver is the
action server's own (`actions.runtime.resolver`: fuzzy + embeddings in FAISS beside the
database), and each question goes through the live bot's path, `actions.products.asked_about`
on a tracker holding the message, then `catalog.services.stock.check_stock` as the stock
action asks it. Nothing here is tuned on the questions: they are only scored.

Two ways of reading a message:
- `--parses FILE`: JSON Lines {"text", "intent", "entities": [{"entity", "value", "start",
  "end"}]} from the NLU model (`eval/nlu_eval.py --parse IN OUT` writes them); the product, colour and
  size entities are used as the actions use them (with their fallback to the whole message
  when the product span resolves to nothing).
- default: no entities at all, the path the action server takes when NLU found no product
  (the product is looked for in the whole message).

Scored per question: the right product as one confident answer (not a "which one?" list),
no variant read into the message that the product does not come in, the right availability
(available = on_hand > 0 after import) and, when a delivery is due, its date.

Usage: .venv/bin/python eval/catalog_dev_stock.py [--parses FILE] [--report PATH]
        [--show-errors N] [--catalog-dir ../shared/eval/catalog_dev] [--limit N]
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DEFAULT_DIR = REPO.parent / "shared" / "eval" / "catalog_dev"
GOAL = 0.95

# Failure kinds, in the order they are checked (the first that applies is reported).
NOT_FOUND = "not_found"  # "which product?" / "can't find X"
CHOICE_LIST = "choice_list"  # "which one do you mean?" buttons
WRONG_PRODUCT = "wrong_product"
WRONG_VARIANT = "variant_misread"  # "it doesn't come in <words from the message>"
WRONG_AVAILABILITY = "wrong_availability"
WRONG_DATE = "wrong_restock_date"
NOT_A_STOCK_QUESTION = "not_a_stock_question"  # taken as another intent: the shopper gets no stock answer
STOCK_INTENTS = ("check_stock", "ask_restock_date")


def _expected(catalog_csv: Path) -> dict[str, dict[str, Any]]:
    """sku -> what the answer must say: available now, and the due date when out with a delivery due."""
    out: dict[str, dict[str, Any]] = {}
    with catalog_csv.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            on_hand = int(row.get("on_hand") or 0)
            eta = (row.get("incoming_eta") or "").strip()
            due = on_hand <= 0 and int(row.get("incoming_qty") or 0) > 0 and eta
            out[row["sku"]] = {"available": on_hand > 0, "restock_date": eta if due else None}
    return out


def _tracker(text: str, intent: str, entities: list[dict[str, Any]], ranking: list[dict[str, Any]] | None = None):
    from rasa_sdk import Tracker

    message = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": entities,
               "intent_ranking": ranking or []}
    return Tracker("catalog-dev-eval", {}, message, [], False, None, {}, "action_listen")


def _import(url: str, catalog_csv: Path) -> None:
    from catalog.db.migrate import upgrade
    from catalog.services.importing import import_file
    from catalog.uow import UnitOfWork

    upgrade(url)
    report = import_file(UnitOfWork(url), catalog_csv)
    if report.errors:
        raise SystemExit(f"import rejected rows: {report.errors[:3]}")


def evaluate(catalog_dir: Path = DEFAULT_DIR, parses: Path | None = None, limit: int = 0,
             today: dt.date | None = None) -> dict[str, Any]:
    """Import the catalog into a fresh database and score every stock question.

    Sets DATABASE_URL for the duration (the action server's resolver and units of work read
    it) and restores it afterwards."""
    questions = [json.loads(line) for line in (catalog_dir / "stock_questions.jsonl").read_text().splitlines()
                 if line.strip()]
    if limit:
        questions = questions[:limit]
    parsed: dict[str, dict[str, Any]] = {}
    if parses is not None:
        for line in parses.read_text().splitlines():
            if line.strip():
                p = json.loads(line)
                parsed[p["text"]] = p
    expected = _expected(catalog_dir / "catalog.csv")
    saved = os.environ.get("DATABASE_URL")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/catalog_dev.db"
        os.environ["DATABASE_URL"] = url
        try:
            return _run(url, catalog_dir, questions, parsed, expected, today, parses is not None)
        finally:
            if saved is None:
                os.environ.pop("DATABASE_URL", None)
            else:
                os.environ["DATABASE_URL"] = saved
            from actions import runtime

            runtime.resolver.cache_clear()


def _run(url: str, catalog_dir: Path, questions: list[dict[str, Any]], parsed: dict[str, dict[str, Any]],
         expected: dict[str, dict[str, Any]], today: dt.date | None, with_parses: bool) -> dict[str, Any]:
    from actions import runtime
    from actions.fallback import stock_question_behind
    from actions.products import asked_about
    from catalog.clock import today as clock_today
    from catalog.search.resolver import Match
    from catalog.services.stock import check_stock
    from catalog.wording.stock import stock_reply

    start = time.perf_counter()
    _import(url, catalog_dir / "catalog.csv")
    runtime.resolver.cache_clear()
    resolver = runtime.resolver()
    resolver.refresh(force=True)
    resolver.resolve("warm up the matchers")
    setup_seconds = time.perf_counter() - start
    day = today or clock_today()
    failures: Counter[str] = Counter()
    errors: list[dict[str, Any]] = []
    latencies: list[float] = []  # the product found and its stock read
    resolving: list[float] = []  # the product found
    missing_parses = 0
    for q in questions:
        text, sku = q["text"], q["sku"]
        parse = parsed.get(text)
        if with_parses and parse is None:
            missing_parses += 1
        intent = (parse or {}).get("intent") or "check_stock"
        if isinstance(intent, dict):
            intent = intent.get("name") or "check_stock"
        entities = (parse or {}).get("entities") or []
        tracker = _tracker(text, intent, entities, (parse or {}).get("ranking"))
        if with_parses and intent not in STOCK_INTENTS:
            # What the live bot does (actions/fallback.py): an unsure or off-topic message is
            # answered only when it names one catalog product that way; the rest is not.
            if not stock_question_behind(tracker)[0]:
                failures[NOT_A_STOCK_QUESTION] += 1
                errors.append({"text": text, "sku": sku, "kind": NOT_A_STOCK_QUESTION, "intent": intent,
                               "product_entity": [e.get("value") for e in entities if e.get("entity") == "product"]})
                continue
        t = time.perf_counter()
        match, color, size, variant_sku = asked_about(tracker)
        resolving.append(time.perf_counter() - t)
        report = check_stock(runtime.uow(), match.product, day, color=color, size=size,
                             sku=variant_sku) if isinstance(match, Match) else None
        latencies.append(time.perf_counter() - t)
        want = expected[sku]
        kind = None
        if not isinstance(match, Match):
            kind = CHOICE_LIST if match.ambiguous else NOT_FOUND
        elif sku not in match.product.variant_skus or (variant_sku and variant_sku != sku):
            kind = WRONG_PRODUCT
        elif report is None:
            kind = WRONG_AVAILABILITY
        elif not report.variant_exists:
            kind = WRONG_VARIANT
        elif (report.best.stock.available > 0) != want["available"]:
            kind = WRONG_AVAILABILITY
        elif want["restock_date"] and str(report.best.outlook.restock_date) != want["restock_date"]:
            kind = WRONG_DATE
        if kind is None:
            continue
        failures[kind] += 1
        error: dict[str, Any] = {"text": text, "sku": sku, "kind": kind,
                                 "product_entity": [e.get("value") for e in entities if e.get("entity") == "product"]}
        if isinstance(match, Match):
            error["answered"] = f"{match.product.variant_skus[0]} {match.product.title}"
            if report is not None:
                error["reply"] = stock_reply(report, day, asking_date=intent == "ask_restock_date")
        else:
            error["query"] = match.query
            error["choices"] = [f"{m.product.variant_skus[0]} {m.product.title}" for m in match.matches]
        errors.append(error)
    latencies.sort()
    resolving.sort()
    n = len(questions)
    right = n - sum(failures.values())
    return {
        "mode": "nlu_parses" if with_parses else "no_entities",
        "questions": n,
        "right": right,
        "accuracy": round(right / n, 4) if n else 0.0,
        "goal": GOAL,
        "failures": dict(failures.most_common()),
        "missing_parses": missing_parses,
        "today": day.isoformat(),
        "import_and_index_seconds": round(setup_seconds, 1),
        "question_ms_p50": _quantile(latencies, 0.5),
        "question_ms_p95": _quantile(latencies, 0.95),
        "resolve_ms_p50": _quantile(resolving, 0.5),
        "resolve_ms_p95": _quantile(resolving, 0.95),
        "errors": errors,
    }


def _quantile(seconds: list[float], q: float) -> float | None:
    """The q-quantile in milliseconds of the questions that reached the catalog."""
    if not seconds:
        return None
    ordered = sorted(seconds)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--catalog-dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--parses", type=Path, help="NLU parses of the questions (JSON Lines)")
    parser.add_argument("--report", type=Path, help="write the results as JSON here")
    parser.add_argument("--show-errors", type=int, default=0, metavar="N", help="list N failures")
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions")
    args = parser.parse_args()
    if not (args.catalog_dir / "catalog.csv").exists():
        print(f"no catalog in {args.catalog_dir}; nothing to measure")
        return 0
    result = evaluate(args.catalog_dir, args.parses, args.limit)
    print(f"mode {result['mode']}: {result['right']}/{result['questions']} right = {result['accuracy']:.3f} "
          f"(goal {GOAL}); per question p50 {result['question_ms_p50']} ms, p95 {result['question_ms_p95']} ms "
          f"(finding the product: p50 {result['resolve_ms_p50']} ms, p95 {result['resolve_ms_p95']} ms)")
    for kind, count in result["failures"].items():
        print(f"  {kind:22s} {count:4d}")
    if result["missing_parses"]:
        print(f"  ({result['missing_parses']} questions had no parse and were read without entities)")
    for e in result["errors"][:args.show_errors]:
        print(f"- [{e['kind']}] {e['text']!r} want {e['sku']}"
              + (f" (entity {e['product_entity']})" if e["product_entity"] else ""))
        if "intent" in e:
            print(f"    taken as {e['intent']}")
        elif "answered" in e:
            print(f"    answered {e['answered']}" + (f": {e['reply'][:160]!r}" if e.get("reply") else ""))
        else:
            print(f"    query {e['query']!r} choices {e['choices'][:3]}")
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        print(f"report written to {args.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
