"""Shared fixtures: real databases (a SQLite file and the PostgreSQL server), migrated fresh."""
from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from catalog.db.engine import engine_for  # noqa: E402
from catalog.db.migrate import upgrade  # noqa: E402
from catalog.uow import UnitOfWork  # noqa: E402

POSTGRES_SERVER = os.environ.get("TEST_POSTGRES_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432")
TODAY = dt.date(2026, 11, 27)


def _postgres_url(name: str) -> str:
    """A private database per test worker, created on the server on first use."""
    admin = create_engine(f"{POSTGRES_SERVER}/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{POSTGRES_SERVER}/{name}"


def _fresh_postgres() -> str:
    url = _postgres_url(f"stockout_test_{os.getpid()}")
    engine = engine_for(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """An empty, migrated database: every catalog test runs on both engines."""
    url = f"sqlite:///{tmp_path / 'catalog.db'}" if request.param == "sqlite" else _fresh_postgres()
    upgrade(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    upgrade(url)
    return url


@pytest.fixture
def uow_factory(db_url):
    return lambda: UnitOfWork(db_url)


@pytest.fixture(scope="session")
def seeded_sqlite(tmp_path_factory) -> str:
    """The demo store in a SQLite file, seeded once for read-only tests."""
    from catalog.services.seeding import seed_demo_store

    path = tmp_path_factory.mktemp("seeded") / "catalog.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    seed_demo_store(UnitOfWork(url), TODAY)
    return url


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    import csv

    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path
