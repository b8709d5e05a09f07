"""Who may see an order: proof rules and the limits on guessing."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

MAX_FAILURES_PER_CONVERSATION = 5  # within WINDOW
MAX_FAILURES_PER_ORDER = 10  # within WINDOW, from any conversation: stops spraying one number
WINDOW = dt.timedelta(minutes=15)


def normalise_email(value: str | None) -> str:
    """" Ann@Example.COM " and "ann@example.com" are one address; nothing else is."""
    return unicodedata.normalize("NFKC", value or "").strip().casefold()


def normalise_order_number(value: str | None) -> str:
    return re.sub(r"\s+", "", (value or "")).upper().lstrip("#")[:64]


@dataclass(frozen=True)
class Failures:
    by_conversation: int
    by_order_number: int


def is_rate_limited(failures: Failures) -> bool:
    return (failures.by_conversation >= MAX_FAILURES_PER_CONVERSATION
            or failures.by_order_number >= MAX_FAILURES_PER_ORDER)
