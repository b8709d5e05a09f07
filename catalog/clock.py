"""The time: naive UTC datetimes (as the database stores them), and the calendar day.

Services take `now`/`today` from their callers where a decision depends on them (tests
pass fixed times); adapters ask here.
"""
from __future__ import annotations

import datetime as dt

from catalog.config import fixed_today


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def today() -> dt.date:
    """The day shoppers are answered for: the server's calendar, or CLOCK_TODAY when set."""
    return fixed_today() or dt.date.today()
