"""The time, as the database stores it: naive UTC datetimes.

Services take `now`/`today` from their callers where a decision depends on them (tests
pass fixed times); these are the defaults.
"""
from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
