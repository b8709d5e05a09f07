"""The rules that decide what a shopper is told about availability."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from catalog.domain.stock import IncomingLine, Offer, Outlook, VariantStock, available_to_sell, outlook_for
from catalog.domain.variants import matches, norm_size

TODAY = dt.date(2026, 11, 27)


def stock(available=0, incoming=(), offers=(), **kw) -> VariantStock:
    return VariantStock(sku="S-1", color=None, size=None, price=Decimal("10"), currency="USD",
                        available=available, incoming=tuple(incoming), offers=tuple(offers), **kw)


def offer(supplier="Usual", primary=True, lead=7, qty=None, price="12.00") -> Offer:
    return Offer(supplier, Decimal(price), "USD", lead, qty, primary)


@given(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6))
def test_available_is_never_negative_and_never_more_than_on_hand(on_hand, reserved, safety):
    available = available_to_sell(on_hand, reserved, safety)
    assert 0 <= available <= on_hand
    assert available == on_hand - reserved - safety or available == 0


def test_in_stock_and_low_stock():
    assert outlook_for(stock(6), TODAY, 5).outlook is Outlook.IN_STOCK
    assert outlook_for(stock(5), TODAY, 5).outlook is Outlook.LOW_STOCK


def test_earliest_open_purchase_order_wins_over_lead_time():
    lines = [IncomingLine(8, TODAY + dt.timedelta(days=20), "A"), IncomingLine(3, TODAY + dt.timedelta(days=4), "B")]
    o = outlook_for(stock(0, lines, [offer()], preorder_allowed=True), TODAY, 5)
    assert (o.outlook, o.restock_qty, o.restock_date, o.can_preorder) == (
        Outlook.INCOMING, 3, TODAY + dt.timedelta(days=4), True)


def test_overdue_purchase_order_is_flagged():
    o = outlook_for(stock(0, [IncomingLine(3, TODAY - dt.timedelta(days=2), "A")]), TODAY, 5)
    assert o.overdue


def test_other_supplier_only_when_the_usual_one_is_out():
    alt = offer("Second", primary=False, lead=3, qty=50, price="14.00")
    assert outlook_for(stock(0, offers=[offer(qty=0), alt]), TODAY, 5).alternative == alt
    assert outlook_for(stock(0, offers=[offer(qty=None), alt]), TODAY, 5).outlook is Outlook.LEAD_TIME
    out_too = offer("Third", primary=False, qty=0)
    assert outlook_for(stock(0, offers=[offer(qty=0), out_too]), TODAY, 5).outlook is Outlook.NO_RESTOCK


def test_no_supplier_means_no_restock():
    assert outlook_for(stock(0), TODAY, 5).outlook is Outlook.NO_RESTOCK


def test_variant_matching_is_forgiving_about_how_sizes_and_colours_are_said():
    assert matches("Grey", "EU 42", "gray", "42")
    assert matches("blue", None, "navy blue", "M")
    assert not matches("red", None, "blue", None)
    assert norm_size("size M") == norm_size("medium") == "m"
