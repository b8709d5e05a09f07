"""`python -m catalog COMMAND`: migrate, import, seed, receive, set-eta, dispatch, expire-holds,
index, substitutes, substitute-feedback, goes-with."""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from pathlib import Path

from catalog.clock import today
from catalog.config import database_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m catalog", description="Inventory database tools.")
    parser.add_argument("--database-url", help="overrides DATABASE_URL (default: SQLite file var/catalog.db)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="upgrade the database to the latest schema")
    imp = sub.add_parser("import", help="import a catalog file (CSV or JSON Lines), upserting by sku")
    imp.add_argument("path", type=Path)
    imp.add_argument("--quiet", action="store_true", help="no progress bar")
    seed = sub.add_parser("seed", help="fill the database with the deterministic demo store")
    seed.add_argument("--today", type=dt.date.fromisoformat, help="date the demo's ETAs are relative to (default: today)")
    seed.add_argument("--if-empty", action="store_true", help="only seed a database that has no products yet")
    rec = sub.add_parser("receive", help="book in a purchase order's delivery (reservations first, then restock alerts)")
    rec.add_argument("reference", help="purchase order reference, e.g. PO-1001")
    rec.add_argument("--qty", action="append", default=[], metavar="N|SKU=N",
                     help="units received: N for every open line, or SKU=N per line (repeatable); default: all due")
    eta = sub.add_parser("set-eta", help="move a purchase order's ETA; customers told an earlier date get a delay notice")
    eta.add_argument("reference")
    eta.add_argument("date", help="new ETA, YYYY-MM-DD")
    disp = sub.add_parser("dispatch", help="write queued customer messages to the log (channels without a sender)")
    disp.add_argument("--once", action="store_true", help="one batch, then exit (default: keep polling)")
    disp.add_argument("--batch", type=int, default=100)
    disp.add_argument("--worker-id", default=None)
    disp.add_argument("--exclude", action="append", default=[], metavar="CHANNEL",
                      help="leave this channel's messages to its own sender (e.g. telegram); repeatable")
    sub.add_parser("expire-holds", help="end restock holds whose time is up and alert the next in line")
    idx = sub.add_parser("index", help="build or update the substitutes index beside the database (new/changed products only)")
    idx.add_argument("--quiet", action="store_true", help="no progress bar")
    idx.add_argument("--full", action="store_true",
                     help="re-read and re-hash every product, not only those edited since the last run")
    subs = sub.add_parser("substitutes", help="ranked substitutes a shopper can buy now for a SKU")
    subs.add_argument("sku")
    subs.add_argument("--k", type=int, default=5, help="how many (default 5)")
    subs.add_argument("--color", help="colour the shopper asked for")
    subs.add_argument("--size", help="size the shopper asked for")
    subs.add_argument("--json", action="store_true", help="a JSON list of objects (sku, score, reason, ...)")
    fb = sub.add_parser("substitute-feedback", help="which suggested substitutes shoppers took or turned down")
    fb.add_argument("sku", nargs="?", help="only suggestions for this wanted sku")
    fb.add_argument("--json", action="store_true")
    gw = sub.add_parser("goes-with", help="what the chat suggests with a SKU once it is reserved (in stock only)")
    gw.add_argument("sku")
    gw.add_argument("--k", type=int, default=5, help="how many (default 5)")
    gw.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    url = args.database_url or database_url()

    from catalog.db.migrate import upgrade

    try:
        upgrade(url)
    except Exception as exc:  # a clear message instead of a traceback for a wrong URL / server down
        print(f"error: cannot open or migrate the database at {_redact(url)}: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 2
    if args.command == "migrate":
        print(f"database at {_redact(url)} is at the latest schema")
        return 0
    if args.command == "import":
        return _import(url, args.path, quiet=args.quiet)
    if args.command == "seed":
        return _seed(url, args.today or today(), args.if_empty)
    if args.command == "receive":
        return _receive(url, args.reference, args.qty)
    if args.command == "set-eta":
        return _set_eta(url, args.reference, args.date)
    if args.command == "dispatch":
        return _dispatch(url, args.once, args.batch, args.worker_id, args.exclude)
    if args.command == "expire-holds":
        return _expire_holds(url)
    if args.command == "index":
        return _index(url, args.quiet, args.full)
    if args.command == "substitutes":
        return _substitutes(url, args.sku, args.k, args.color, args.size, args.json)
    if args.command == "substitute-feedback":
        return _substitute_feedback(url, args.sku, args.json)
    if args.command == "goes-with":
        return _goes_with(url, args.sku, args.k, args.json)
    return 1


def _index(url: str, quiet: bool, full: bool) -> int:
    import time

    from tqdm import tqdm

    from catalog.services.substitutes import build_index, substitutes_index_path
    from catalog.uow import UnitOfWork

    bar = tqdm(total=0, unit="products", desc="embedding", disable=quiet, file=sys.stderr)

    def total(n: int) -> None:
        bar.total = n
        bar.refresh()

    start = time.perf_counter()
    try:
        report = build_index(UnitOfWork(url), progress=bar.update, on_total=total, full=full)
    finally:
        bar.close()
    print(f"substitutes index {substitutes_index_path(url)}: {report.total} products, "
          f"{report.embedded} embedded, {report.removed} removed in {time.perf_counter() - start:.1f} s")
    return 0


def _substitutes(url: str, sku: str, k: int, color: str | None, size: str | None, as_json: bool) -> int:
    import json

    from catalog.services.substitutes import UnknownSku, find_substitutes
    from catalog.uow import UnitOfWork
    from catalog.wording.substitutes import reason_text

    try:
        found = find_substitutes(UnitOfWork(url), sku, k=k, color=color, size=size)
    except UnknownSku:
        print(f"error: no product has the sku {sku!r}", file=sys.stderr)
        return 1
    day = today()
    if as_json:
        print(json.dumps([{
            "sku": s.sku, "product_id": s.product_id, "title": s.title, "brand": s.brand, "score": round(s.score, 4),
            "reason": reason_text(s.reason, day), "available": s.available, "preorder": s.preorder,
            "price": str(s.price) if s.price is not None else None, "currency": s.currency, "color": s.color,
            "size": s.size, "eta": s.eta.isoformat() if s.eta else None, "same_item": s.same_item,
        } for s in found], ensure_ascii=False, indent=2))
        return 0
    if not found:
        print(f"no substitutes for {sku} can be sold now")
        return 0
    for i, s in enumerate(found, 1):
        mark = " [pre-order]" if s.preorder else ""
        print(f"{i}. {s.sku}  {s.title}{mark}  (score {s.score:.3f})\n   {reason_text(s.reason, day)}")
    return 0


def _substitute_feedback(url: str, sku: str | None, as_json: bool) -> int:
    import json

    from catalog.services.substitutes import feedback_summary
    from catalog.uow import UnitOfWork

    stats = feedback_summary(UnitOfWork(url), sku)
    if as_json:
        print(json.dumps([{"sku": s.sku, "substitute_sku": s.substitute_sku, "accepted": s.accepted,
                           "rejected": s.rejected, "acceptance_rate": round(s.acceptance_rate, 3)} for s in stats],
                         indent=2))
        return 0
    if not stats:
        print("no substitute suggestions answered yet" + (f" for {sku}" if sku else ""))
        return 0
    print(f"{'wanted':<16} {'suggested':<16} {'taken':>6} {'declined':>8} {'rate':>6}")
    for s in stats:
        print(f"{s.sku:<16} {s.substitute_sku:<16} {s.accepted:>6} {s.rejected:>8} {s.acceptance_rate:>6.0%}")
    return 0


def _goes_with(url: str, sku: str, k: int, as_json: bool) -> int:
    import json

    from catalog.services.complements import UnknownItem, goes_with
    from catalog.uow import UnitOfWork
    from catalog.wording.complements import relation_text

    try:
        found = goes_with(UnitOfWork(url), sku, limit=k)
    except UnknownItem:
        print(f"error: no product has the sku {sku!r}", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps([{"sku": c.sku, "product_id": c.product_id, "title": c.title, "brand": c.brand,
                           "price": str(c.price), "currency": c.currency, "available": c.available,
                           "why": relation_text(c)} for c in found.complements], ensure_ascii=False, indent=2))
        return 0
    if not found.complements:
        print(f"nothing in stock goes with {sku}")
        return 0
    for i, c in enumerate(found.complements, 1):
        print(f"{i}. {c.sku}  {c.title}  ({c.available} in stock)\n   {relation_text(c)}")
    return 0


def _receive(url: str, reference: str, qty: list[str]) -> int:
    from catalog.services.purchasing import PurchasingError, receive_purchase_order
    from catalog.wording.purchasing import problem_text
    from catalog.uow import UnitOfWork

    per_sku: dict[str, int] = {}
    every: int | None = None
    for item in qty:
        key, _, value = item.rpartition("=")
        try:
            n = int(value)
        except ValueError:
            print(f"error: --qty {item!r}: expected N or SKU=N with N a whole number", file=sys.stderr)
            return 2
        if n < 0:
            print(f"error: --qty {item!r}: the quantity cannot be negative", file=sys.stderr)
            return 2
        if key:
            per_sku[key] = n
        else:
            every = n
    if per_sku and every is not None:
        print("error: give either --qty N (every line) or --qty SKU=N, not both", file=sys.stderr)
        return 2
    try:
        report = receive_purchase_order(UnitOfWork(url), reference, per_sku or None, every)
    except PurchasingError as exc:
        print(f"error: {problem_text(exc)}", file=sys.stderr)
        return 1
    lines = ", ".join(f"{sku} x{n}" for sku, n in report.received.items())
    print(f"received {report.reference}: {lines}; {report.allocated} units set aside for reservations; "
          f"{report.alerts_queued} restock alerts queued; purchase order is {report.po_status}")
    return 0


def _set_eta(url: str, reference: str, date: str) -> int:
    from catalog.services.purchasing import PurchasingError, set_eta
    from catalog.wording.purchasing import problem_text
    from catalog.uow import UnitOfWork

    try:
        new = dt.date.fromisoformat(date)
    except ValueError:
        print(f"error: {date!r} is not a date (YYYY-MM-DD)", file=sys.stderr)
        return 2
    try:
        report = set_eta(UnitOfWork(url), reference, new)
    except PurchasingError as exc:
        print(f"error: {problem_text(exc)}", file=sys.stderr)
        return 1
    print(f"{report.reference} now due {new.isoformat()}; {report.notices_queued} delay notices queued")
    return 0


def _dispatch(url: str, once: bool, batch: int, worker_id: str | None, exclude: list[str]) -> int:
    import os
    import socket
    import time

    from catalog.domain.statuses import Channel
    from catalog.services.outbox import dispatch_once
    from catalog.uow import UnitOfWork

    logging.getLogger().setLevel(logging.INFO)
    worker = worker_id or f"{socket.gethostname()}:{os.getpid()}"
    dispatcher = LogDispatcher()
    # Email has no sender yet: its messages wait in the outbox for one, never "sent" to a log.
    exclude = [*exclude, Channel.EMAIL]
    total_sent = total_failed = 0
    try:
        while True:
            result = dispatch_once(UnitOfWork(url), dispatcher, worker, batch=max(1, batch), exclude=exclude)
            total_sent, total_failed = total_sent + result.sent, total_failed + result.failed
            if once:
                break
            if not result.claimed:
                time.sleep(1.0)
    except KeyboardInterrupt:
        pass
    print(f"dispatched {total_sent} messages; {total_failed} failed (will be retried)")
    return 0 if total_failed == 0 else 1


class LogDispatcher:
    """Writes each message to the log: what `catalog dispatch` does for channels no sender
    can reach (a REST client has no way to be pushed to)."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger("catalog.dispatch")

    def send(self, message) -> None:
        from catalog.wording.notices import notice_text

        self.logger.info("[%s -> %s] %s: %s", message.channel, message.recipient, message.kind,
                         notice_text(message.kind, message.payload, message.body))


def _expire_holds(url: str) -> int:
    from catalog.services.alerts import expire_holds
    from catalog.uow import UnitOfWork

    expired, report = expire_holds(UnitOfWork(url))
    print(f"expired {expired} holds; {report.alerts_queued} restock alerts queued for the next in line")
    return 0


def _import(url: str, path: Path, quiet: bool) -> int:
    from tqdm import tqdm

    from catalog.services.importing import count_lines, import_file
    from catalog.uow import UnitOfWork

    if not path.is_file():
        print(f"error: no such file: {path}", file=sys.stderr)
        return 2
    total = count_lines(path)
    bar = tqdm(total=total, unit="rows", desc=f"importing {path.name}", disable=quiet or total < 2000, file=sys.stderr)
    try:
        report = import_file(UnitOfWork(url), path, progress=bar.update)
    finally:
        bar.close()
    for error in report.errors[:200]:
        print(f"rejected: {error}", file=sys.stderr)
    if len(report.errors) > 200:
        print(f"... and {len(report.errors) - 200} more problems", file=sys.stderr)
    print(
        f"imported {report.imported} rows ({report.created} new, {report.updated} updated, "
        f"{report.stock_changes} stock changes); rejected {report.rejected_rows} rows"
    )
    return 1 if report.errors else 0


def _seed(url: str, day: dt.date, if_empty: bool) -> int:
    from catalog.services.seeding import seed_demo_store
    from catalog.uow import UnitOfWork

    if if_empty:
        with UnitOfWork(url) as uow:
            count = uow.catalog.product_count()
        if count:
            print(f"database already has {count} products; not seeding")
            return 0
    summary = seed_demo_store(UnitOfWork(url), day)
    print(summary)
    return 0


def _redact(url: str) -> str:
    """Never print a password from a URL."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':')[0]}:***@{host}" if ":" in creds else url
    return url
