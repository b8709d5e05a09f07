"""The database's schema: bring it up to date, and whether it is (a cheap check for servers)."""
from __future__ import annotations

from catalog.db.engine import engine_for
from catalog.db.migrate import is_current, upgrade


def migrate(url: str) -> None:
    """Upgrade the database to the latest schema (a no-op when it is current)."""
    upgrade(url)


def schema_is_current(url: str) -> bool:
    """True when the database answers and is at the head revision."""
    return is_current(engine_for(url))
