"""The catalog's settings, read from the environment here and nowhere else (the README's
table lists every variable). Functions, not constants: tests and tools change the
environment between calls."""
from __future__ import annotations

import os
import datetime as dt
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "var" / "catalog.db"


def database_url() -> str:
    """`DATABASE_URL` if set, else a SQLite file under var/ (zero set-up)."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        # Heroku-style URLs and bare postgresql:// should use the psycopg 3 driver we ship.
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://"):]
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url
    DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def policy_path() -> Path:
    return Path(os.environ.get("POLICY_FILE", PROJECT_ROOT / "policies.yml"))


def low_stock_threshold() -> int:
    """At or below this many available units, answers say "only N left"."""
    return int(os.environ.get("LOW_STOCK_THRESHOLD", "5"))


def fixed_today() -> dt.date | None:
    """CLOCK_TODAY (YYYY-MM-DD): the calendar day answers are given for, instead of the real
    one (tests, so a run that crosses midnight answers for one day; demos)."""
    value = os.environ.get("CLOCK_TODAY", "").strip()
    return dt.date.fromisoformat(value) if value else None


def semantic_search() -> bool:
    """Embeddings for finding products (SEMANTIC_SEARCH=0: fuzzy and SKU matching only)."""
    return os.environ.get("SEMANTIC_SEARCH", "1") != "0"


def index_path(url: str) -> Path:
    """The FAISS index lives beside a SQLite file, or under var/ for a server database."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        return Path(url[len("sqlite:///"):]).with_suffix(".faiss")
    import hashlib

    key = hashlib.sha1(url.split("@")[-1].encode()).hexdigest()[:12]
    return PROJECT_ROOT / "var" / f"index-{key}.faiss"
