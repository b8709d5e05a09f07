"""One row of a merchant's catalog file, validated (../shared/spec/catalog-format.md).

Validation collects *every* problem of a row, not just the first, so a merchant can
fix a file in one pass.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

REQUIRED = ("sku", "title", "description", "category", "price", "on_hand")
OPTIONAL = (
    "brand", "currency", "attributes", "image_url", "reserved", "safety_stock", "supplier",
    "supplier_lead_time_days", "supplier_cost", "incoming_qty", "incoming_eta", "preorder_allowed",
    "backorder_allowed", "max_per_customer",
)
KNOWN = frozenset(REQUIRED + OPTIONAL)
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
MAX_PRICE = Decimal("9999999999.99")
MAX_INT = 2_000_000_000


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.reason}"


@dataclass
class CatalogRow:
    line: int
    sku: str
    title: str
    description: str
    category: str
    price: Decimal
    on_hand: int
    brand: str | None = None
    currency: str = "USD"
    attributes: dict[str, Any] = field(default_factory=dict)
    image_url: str | None = None
    reserved: int = 0
    safety_stock: int = 0
    supplier: str | None = None
    supplier_lead_time_days: int | None = None
    supplier_cost: Decimal | None = None  # what the merchant pays the usual supplier per unit
    incoming_qty: int | None = None
    incoming_eta: dt.date | None = None
    preorder_allowed: bool = False
    backorder_allowed: bool = False
    max_per_customer: int | None = None

    @property
    def color(self) -> str | None:
        return _attr(self.attributes, ("color", "colour"))

    @property
    def size(self) -> str | None:
        return _attr(self.attributes, ("size",))


def _attr(attrs: dict[str, Any], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = attrs.get(name)
        if value not in (None, ""):
            return str(value).strip()[:100]
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value).strip()


def parse_row(line: int, raw: dict[str, Any]) -> tuple[CatalogRow | None, list[RowError]]:
    """Turn raw cell values into a CatalogRow, or report every bad cell."""
    errors: list[RowError] = []
    cells = {str(k).strip().lower(): v for k, v in raw.items() if k is not None}

    def err(column: str, reason: str) -> None:
        errors.append(RowError(line, column, reason))

    def required_text(column: str, max_len: int, allow_empty: bool = False) -> str:
        value = _text(cells.get(column))
        if column not in cells:
            err(column, "column is missing")
        elif not value and not allow_empty:
            err(column, "required value is empty")
        elif len(value) > max_len:
            err(column, f"longer than {max_len} characters")
        return value

    def integer(column: str, required: bool = False, minimum: int = 0) -> int | None:
        value = cells.get(column)
        text = _text(value)
        if text == "":
            if required:
                err(column, "column is missing" if column not in cells else "required value is empty")
            return None
        if isinstance(value, bool):
            err(column, f"expected a whole number, got {text!r}")
            return None
        try:
            number = int(text) if not isinstance(value, float) else _int_from_float(value)
        except ValueError:
            err(column, f"expected a whole number, got {_show(text)}")
            return None
        if number < minimum:
            err(column, f"must be >= {minimum}, got {number}")
            return None
        if number > MAX_INT:
            err(column, f"too large: {number}")
            return None
        return number

    def boolean(column: str) -> bool | None:
        value = cells.get(column)
        if isinstance(value, bool):
            return value
        text = _text(value).lower()
        if text == "":
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        err(column, f"expected true or false, got {_show(text)}")
        return None

    sku = required_text("sku", 64)
    title = required_text("title", 500)
    description = required_text("description", 20_000, allow_empty=True)
    category = required_text("category", 500)
    if category:
        category = " > ".join(part.strip() for part in category.split(">") if part.strip())
        if not category:
            err("category", "category path has no names")

    def money(column: str, required: bool = False) -> Decimal | None:
        text = _text(cells.get(column))
        if not text:
            if required:
                err(column, "column is missing" if column not in cells else "required value is empty")
            return None
        try:
            amount = Decimal(text)
            if not amount.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            err(column, f"expected a decimal number, got {_show(text)}")
            return None
        if amount < 0:
            err(column, f"must be >= 0, got {text}")
        elif amount > MAX_PRICE:
            err(column, f"too large: {text}")
        elif amount != amount.quantize(Decimal("0.0001")):
            err(column, f"too many decimal places: {text}")
        else:
            return amount
        return None

    price = money("price", required=True)
    cost = money("supplier_cost")

    on_hand = integer("on_hand", required=True)
    reserved = integer("reserved")
    safety = integer("safety_stock")
    lead = integer("supplier_lead_time_days")
    incoming = integer("incoming_qty")
    cap = integer("max_per_customer", minimum=1)

    currency = _text(cells.get("currency")).upper() or "USD"
    if not _CURRENCY.match(currency):
        err("currency", f"expected a 3-letter ISO 4217 code, got {_show(currency)}")

    attributes: dict[str, Any] = {}
    raw_attrs = cells.get("attributes")
    if isinstance(raw_attrs, dict):
        attributes = dict(raw_attrs)
    elif _text(raw_attrs):
        try:
            parsed = json.loads(_text(raw_attrs))
        except json.JSONDecodeError as exc:
            err("attributes", f"invalid JSON ({exc.msg} at position {exc.pos})")
        else:
            if isinstance(parsed, dict):
                attributes = parsed
            else:
                err("attributes", "expected a JSON object like {\"color\": \"black\"}")
    for extra, value in cells.items():  # unknown columns are kept as attributes
        if extra not in KNOWN and _text(value) and extra not in attributes:
            attributes[extra] = value if isinstance(value, (int, float, bool)) else _text(value)

    eta = None
    eta_text = _text(cells.get("incoming_eta"))
    if eta_text:
        try:
            eta = dt.date.fromisoformat(eta_text)
            if len(eta_text) != 10:
                raise ValueError
        except ValueError:
            err("incoming_eta", f"expected a date YYYY-MM-DD, got {_show(eta_text)}")
            eta = None

    preorder = boolean("preorder_allowed")
    backorder = boolean("backorder_allowed")
    image_url = _text(cells.get("image_url")) or None
    if image_url and (len(image_url) > 2000 or not re.match(r"^(https?://|/)", image_url)):
        err("image_url", "expected an http(s) URL")
    supplier = _text(cells.get("supplier")) or None
    if supplier and len(supplier) > 200:
        err("supplier", "longer than 200 characters")
    brand = _text(cells.get("brand")) or None
    if brand and len(brand) > 200:
        err("brand", "longer than 200 characters")

    if errors:
        return None, errors
    assert price is not None and on_hand is not None
    return CatalogRow(
        line=line, sku=sku, title=title, description=description, category=category,
        price=price, on_hand=on_hand, brand=brand, currency=currency, attributes=attributes,
        image_url=image_url, reserved=reserved or 0, safety_stock=safety or 0, supplier=supplier,
        supplier_lead_time_days=lead, supplier_cost=cost, incoming_qty=incoming, incoming_eta=eta,
        preorder_allowed=preorder if preorder is not None else bool(incoming),
        backorder_allowed=bool(backorder), max_per_customer=cap,
    ), []


def _int_from_float(value: float) -> int:
    if not value.is_integer():
        raise ValueError
    return int(value)


def _show(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")
