"""`python -m catalog COMMAND`: migrate, import, seed."""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from pathlib import Path

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
        return _seed(url, args.today or dt.date.today(), args.if_empty)
    return 1


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


def _seed(url: str, today: dt.date, if_empty: bool) -> int:
    from catalog.services.seeding import seed_demo_store
    from catalog.uow import UnitOfWork

    if if_empty:
        with UnitOfWork(url) as uow:
            count, _ = uow.catalog.version()
        if count:
            print(f"database already has {count} products; not seeding")
            return 0
    summary = seed_demo_store(UnitOfWork(url), today)
    print(summary)
    return 0


def _redact(url: str) -> str:
    """Never print a password from a URL."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':')[0]}:***@{host}" if ":" in creds else url
    return url
