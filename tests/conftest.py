"""Shared fixtures: real databases (a SQLite file and the PostgreSQL server), migrated fresh;
the demo store seeded once (with its search and substitutes indexes beside it); and one
set of real servers for every test that talks to them.

Time: the demo store is seeded as of the day the tests run (`TODAY`) and the servers and
actions answer for that same day (CLOCK_TODAY), so no test depends on the calendar date.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
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
ARTIFACTS = ROOT / "test-artifacts"  # screenshots of the browser tests
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
# The day the demo store is seeded for, and (CLOCK_TODAY, inherited by the servers this
# process starts) the day every answer is given for: a run that crosses midnight still
# answers for one day. `make test` sets it once for both of its pytest runs.
TODAY = dt.date.fromisoformat(os.environ["CLOCK_TODAY"]) if os.environ.get("CLOCK_TODAY") else dt.date.today()
os.environ["CLOCK_TODAY"] = TODAY.isoformat()
STAFF, STAFF_PASSWORD = "alice", "a long staff passphrase 42"  # the console's account on the shared servers


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "servers: needs the trained model and the real servers (make test runs "
                                       "these after training; the others run while the model trains)")
    config.addinivalue_line("markers", "rasa_alone: needs the trained model and Rasa without the other servers "
                                       "(make test runs these beside the servers' tests)")


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if "stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.servers)


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
    """The demo store in a SQLite file, seeded once for read-only tests (copy it to change
    it: tests.servers.copy_sqlite), with the product-search and substitutes indexes built
    beside it, so no copy and no server started on one embeds the catalog again.

    With TEST_SEEDED_DIR set (`make test` sets one for its two pytest runs), the first run
    keeps a copy there, made before any test used it, and the second starts from it."""
    from tests.servers import copy_sqlite

    shared = Path(os.environ["TEST_SEEDED_DIR"]) / f"catalog-{TODAY}.db" if os.environ.get("TEST_SEEDED_DIR") else None
    path = tmp_path_factory.mktemp("seeded") / "catalog.db"
    if shared is not None and shared.exists():
        return copy_sqlite(f"sqlite:///{shared}", path)
    url = f"sqlite:///{path}"
    _seed(url)
    if shared is not None:
        shared.parent.mkdir(parents=True, exist_ok=True)
        copy_sqlite(url, shared)
    return url


def _seed(url: str) -> None:
    from catalog.config import index_path
    from catalog.search.embedder import shared_embedder
    from catalog.search.resolver import ProductResolver
    from catalog.search.semantic_index import SemanticIndex
    from catalog.services.seeding import seed_demo_store
    from catalog.services.substitutes import build_index

    upgrade(url)
    seed_demo_store(UnitOfWork(url), TODAY)
    ProductResolver(lambda: UnitOfWork(url), shared_embedder(), SemanticIndex(index_path(url))).refresh(force=True)
    build_index(UnitOfWork(url))


@pytest.fixture(scope="session")
def stack(seeded_sqlite, tmp_path_factory):
    """scripts/serve.sh (Rasa, the action server, the web server, the senders and the
    Telegram bridge) over a copy of the demo store, for every test that needs the servers:
    started once, because a start loads Rasa's model and the embedding model. Telegram is a
    local Bot API server (`stack.telegram`); the console has a staff account (STAFF).

    Tests share it, so each works with its own conversations (a new sender id) and picks
    the products it needs by what the database says at that moment."""
    from catalog.services.staff import create_staff
    from tests.fake_telegram import FakeTelegram
    from tests.servers import copy_sqlite, running

    url = copy_sqlite(seeded_sqlite, tmp_path_factory.mktemp("stack") / "catalog.db")
    create_staff(UnitOfWork(url), STAFF, STAFF_PASSWORD)
    with FakeTelegram(check_limits=False) as fake:
        env = {"TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_BASE_URL": fake.base_url}
        with running(url, tmp_path_factory.mktemp("stack-logs") / "servers.log", extra_env=env) as servers:
            servers.database_url = url
            servers.telegram = fake
            fake.wait_for(lambda: fake.calls["getUpdates"] > 0, timeout=120, what="the bridge to poll")
            yield servers


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright, one per test module (Playwright's synchronous
    API owns the thread's event loop while it runs)."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    if path is None:
        pytest.fail("no Chromium found: `make test` installs Debian's chromium (or set CHROMIUM_PATH)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    import csv

    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path
