"""Time a 100,000-row catalog import (goal: under 60 s) on SQLite and PostgreSQL."""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from catalog.db.migrate import upgrade
from catalog.demo_data import COLUMNS, generate_rows
from catalog.services.importing import import_file
from catalog.uow import UnitOfWork

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


def write_file(path: Path, n: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(generate_rows(n, dt.date.today()))


def fresh_postgres() -> str:
    admin = create_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS stockout_bench"))
        conn.execute(text("CREATE DATABASE stockout_bench"))
    admin.dispose()
    return f"{PG_SERVER}/stockout_bench"


def timed_import(url: str, path: Path) -> tuple[float, int]:
    upgrade(url)
    start = time.perf_counter()
    report = import_file(UnitOfWork(url), path)
    return time.perf_counter() - start, report.imported


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catalog.csv"
        write_file(path, args.rows)
        print(f"import benchmark: {args.rows:,} rows, {path.stat().st_size / 1e6:.1f} MB CSV (goal < 60 s)")
        targets = [("sqlite", f"sqlite:///{tmp}/bench.db")]
        if not args.skip_postgres:
            targets.append(("postgresql", fresh_postgres()))
        for name, url in targets:
            first, imported = timed_import(url, path)
            again, _ = timed_import(url, path)  # every row now an update
            print(f"  {name:10s} first import {first:6.1f} s ({imported / first:,.0f} rows/s); "
                  f"re-import (all updates) {again:6.1f} s")


if __name__ == "__main__":
    main()
