"""Money, dates and names, written the same way in every sentence."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def money(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return "a price to be confirmed"
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{amount:,.2f}" if symbol else f"{amount:,.2f} {currency}"


def day(date: dt.date, today: dt.date) -> str:
    """"12 Dec", with the year only when it is not this year's."""
    text = f"{date.day} {date:%b}"
    return text if date.year == today.year else f"{text} {date.year}"


def due(eta: dt.date | None) -> str:
    """"12 Dec", or that no date is confirmed yet."""
    return f"{eta.day} {eta:%b}" if eta else "date not confirmed yet"


def product_name(title: str, brand: str | None) -> str:
    """The name a shopper knows a product by: the brand in front unless the title already
    names it, first or anywhere ("Trail Runners by Stridewell", "... | 4 L (ORVANA)")."""
    if not brand or not brand.strip() or re.search(rf"(?<!\w){re.escape(brand.strip())}(?!\w)", title, re.IGNORECASE):
        return title
    return f"{brand} {title}"


def variant_label(color: str | None, size: str | None) -> str:
    """How a variant is named in a reply: "black, size 42"."""
    parts = [color] if color else []
    if size:
        parts.append(f"size {size}")
    return ", ".join(parts)


def minutes(span: dt.timedelta) -> str:
    n = int(span.total_seconds() // 60)
    return f"{n} minute{'s' if n != 1 else ''}"


def listing(items: list[str], conjunction: str = "or") -> str:
    """"a, b or c" ("a, b and c" with conjunction="and")."""
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1] if len(items) > 1 else "".join(items)
