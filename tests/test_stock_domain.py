"""The rules that decide what a shopper is told about availability, and the one
definition of available to sell (catalog.db.promises.available_query) on both engines."""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import select

from catalog.clock import utcnow
from catalog.db.orm import Customer, Location, Product, Reservation, StockHold, StockLevel, Variant
from catalog.db.promises import available_query
from catalog.domain.statuses import LIVE_RESERVATIONS, HoldStatus, ReservationKind, ReservationStatus
from catalog.domain.stock import IncomingLine, Offer, Outlook, VariantStock, outlook_for
from catalog.domain.variants import matches, norm_size
from catalog.uow import UnitOfWork
from tests.conftest import TODAY


def stock(available=0, incoming=(), offers=(), **kw) -> VariantStock:
    return VariantStock(sku="S-1", color=None, size=None, price=Decimal("10"), currency="USD",
                        available=available, incoming=tuple(incoming), offers=tuple(offers), **kw)


def offer(supplier="Usual", primary=True, lead=7, qty=None, price="12.00") -> Offer:
    return Offer(supplier, Decimal(price), "USD", lead, qty, primary)


# --------------------------------------------------------------------------- available to sell, in SQL

def expected_available(levels, holds, reservations, now: dt.datetime) -> int:
    """Available to sell, said plainly: what each location can spare (never below 0), added
    up, less the units promised to named customers (unexpired active holds, units already
    allocated to live reservations), and never below 0."""
    shelf = sum(max(0, on_hand - reserved - safety) for _, on_hand, reserved, safety in levels)
    held = sum(quantity for quantity, status, expires_at in holds if status == "active" and expires_at > now)
    allocated = sum(allocated for _, allocated, status in reservations if status in ("active", "allocated"))
    return max(0, shelf - held - allocated)


# Cases worth naming, then random-ish ones: (levels, holds, reservations) with levels as
# (location index, on_hand, reserved, safety), holds as (quantity, status, minutes from now
# to expiry) and reservations as (quantity, allocated, status).
NAMED = [
    ([], [], []),  # never stocked
    ([(0, 5, 8, 0), (1, 4, 0, 0)], [], []),  # one location over-reserved does not eat another's units
    ([(0, 6, 1, 2), (1, 3, 0, 3), (2, 2, 0, 0)], [], []),  # safety stock per location
    ([(0, 5, 0, 0)], [(1, "active", 0), (1, "active", -1), (2, "active", 30)], []),  # expiring now is over
    ([(0, 5, 0, 0)], [(1, "expired", 60), (1, "released", 60), (1, "used", 60)], []),  # only active holds
    ([(0, 5, 0, 0)], [], [(3, 2, "active"), (2, 2, "allocated"), (4, 4, "cancelled")]),
    ([(0, 2, 0, 0)], [(2, "active", 10)], [(3, 3, "allocated")]),  # promised more than on the shelf: 0
    ([(0, 0, 0, 0), (1, 0, 3, 1)], [], [(2, 0, "active")]),  # waiting reservations take nothing off the shelf
]


def _random_cases(rng: random.Random, n: int):
    for _ in range(n):
        levels = [(loc, rng.randint(0, 12), rng.randint(0, 8), rng.randint(0, 4))
                  for loc in rng.sample(range(3), rng.randint(0, 3))]
        holds = [(rng.randint(1, 3), rng.choice(list(HoldStatus)).value, rng.choice([-90, -1, 0, 1, 30, 90]))
                 for _ in range(rng.randint(0, 3))]
        reservations = []
        for _ in range(rng.randint(0, 3)):
            status = rng.choice(list(ReservationStatus)).value
            quantity = rng.randint(1, 5)
            reservations.append((quantity, quantity if status == "allocated" else rng.randint(0, quantity), status))
        yield levels, holds, reservations


def test_available_to_sell_is_defined_once_in_sql_and_means_what_it_says(db_url):
    """PromiseRepository.available (and available_query over every variant) on both engines
    against a plain computation, for named and random-ish stock, holds and reservations."""
    now = utcnow().replace(microsecond=0)
    cases = NAMED + list(_random_cases(random.Random(20240611), 40))
    with UnitOfWork(db_url) as uow:
        s = uow.session
        main = s.execute(select(Location.id).where(Location.code == "MAIN")).scalar_one()
        others = [Location(code=f"L{i}", name=f"Store {i}") for i in (2, 3)]
        customer = Customer(name="Ann", email="ann@example.com")
        product = Product(group_key="g", title="Mug", category="Kitchen", description="")
        s.add_all([*others, customer, product])
        s.flush()
        locations = [main, *(loc.id for loc in others)]
        rows = []
        for i, (levels, holds, reservations) in enumerate(cases):
            v = Variant(product_id=product.id, sku=f"AV-{i}", sku_key=f"AV-{i}", attributes={}, price=Decimal("5"))
            s.add(v)
            s.flush()
            s.add_all([StockLevel(variant_id=v.id, location_id=locations[loc], on_hand=on_hand, reserved=reserved,
                                  safety_stock=safety) for loc, on_hand, reserved, safety in levels])
            s.add_all([StockHold(variant_id=v.id, customer_id=customer.id, quantity=q, status=status,
                                 expires_at=now + dt.timedelta(minutes=minutes)) for q, status, minutes in holds])
            s.add_all([Reservation(variant_id=v.id, customer_id=customer.id, kind=ReservationKind.BACKORDER, quantity=q,
                                   quantity_allocated=a, status=status, unit_price=Decimal("5"))
                       for q, a, status in reservations])
            rows.append((v.id, levels, [(q, status, now + dt.timedelta(minutes=m)) for q, status, m in holds],
                         reservations))
        uow.commit()
    assert any(status in LIVE_RESERVATIONS and a for *_, res in rows for _, a, status in res)

    for moment in (now, now + dt.timedelta(minutes=45)):  # later, some holds have run out
        expected = {vid: expected_available(levels, holds, res, moment) for vid, levels, holds, res in rows}
        assert len(set(expected.values())) > 5  # the cases really differ
        with UnitOfWork(db_url) as uow:
            assert dict(uow.promises.available(list(expected), moment)) == expected
            everything = dict(uow.session.execute(available_query(moment)).all())
            assert everything == expected
            one, unknown = rows[1][0], 10**6
            some = uow.promises.available([one, unknown], moment)
            assert (some[one], some[unknown]) == (4, 0)  # 0 for an unknown id


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
