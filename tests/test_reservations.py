"""Pre-orders and backorders: exact counts under a race, caps, queue places, hostile input."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from catalog.clock import utcnow
from catalog.db.orm import Reservation, StockLevel
from catalog.domain.reservations import QuantityProblem
from catalog.domain.statuses import LIVE_RESERVATIONS, ReservationKind, ReservationStatus
from catalog.services import purchasing, reservations as res
from catalog.services.reservations import Outcome
from catalog.uow import UnitOfWork
from catalog.wording.preorders import SLIP_POLICY, confirmation, place, result_text
from tests.conftest import TODAY
from tests.race import at_once
from tests.world import ETA, build, more_customers


def _reserved_units(url: str) -> int:
    with UnitOfWork(url) as uow:
        return int(uow.session.execute(select(func.coalesce(func.sum(Reservation.quantity), 0))
                                       .where(Reservation.status.in_(LIVE_RESERVATIONS))).scalar_one())


def test_fifty_customers_racing_for_ten_incoming_units_reserve_exactly_ten(db_url):
    world = build(db_url, incoming=10, customers=1)
    customers = more_customers(db_url, 50)
    results = at_once(lambda cid: res.reserve(UnitOfWork(db_url), cid, "RTR-42", 1, ReservationKind.PREORDER,
                                              today=TODAY), customers)
    won = [r for r in results if r.outcome is Outcome.RESERVED]
    lost = [r for r in results if r.outcome is not Outcome.RESERVED]
    assert len(won) == 10 and _reserved_units(db_url) == 10
    assert {r.outcome for r in lost} == {Outcome.SOLD_OUT}
    assert all(r.alternatives.backorder and r.alternatives.restock_alert and r.alternatives.substitutes == ("RTR-43",)
               for r in lost)
    told = result_text(lost[0])
    assert "already promised" in told and "a backorder" in told and "a restock alert" in told
    assert sorted(r.reservation.position for r in won) == list(range(1, 11))
    assert all(r.reservation.expected == ETA for r in won)
    assert world.variant_id


def test_quote_summarises_and_reserve_tells_the_place_in_line(db_url):
    world = build(db_url, customers=4)
    for cid in world.customers[:3]:
        assert res.reserve(UnitOfWork(db_url), cid, "RTR-42", 1, today=TODAY).outcome is Outcome.RESERVED
    quote = res.quote(UnitOfWork(db_url), world.customers[3], "rtr-42 ", 2, today=TODAY)
    assert quote.outcome is Outcome.CAN_RESERVE
    s = quote.summary
    assert (s.quantity, str(s.total), s.expected, s.position) == (2, "199.80", ETA, 4)
    asked = confirmation(s, "Ridgeline Trail Runner")
    assert SLIP_POLICY in asked and "slips" in asked and "full refund" in asked
    assert "#4 in line" in asked and "$199.80 in total" in asked
    assert _reserved_units(db_url) == 3  # a quote writes nothing
    made = res.reserve(UnitOfWork(db_url), world.customers[3], "RTR-42", 1, today=TODAY)
    assert made.outcome is Outcome.RESERVED
    assert place(made.reservation) == f"you are #4; due around {ETA.day} {ETA:%b}"


def test_per_customer_cap_counts_every_live_reservation(db_url):
    world = build(db_url, cap=2)
    cid = world.customers[0]
    assert res.reserve(UnitOfWork(db_url), cid, "RTR-42", 2, today=TODAY).outcome is Outcome.RESERVED
    over = res.reserve(UnitOfWork(db_url), cid, "RTR-42", 1, today=TODAY)
    assert over.outcome is Outcome.OVER_CAP and over.cap_left == 0
    assert res.reserve(UnitOfWork(db_url), cid, "RTR-42", 1, ReservationKind.BACKORDER, today=TODAY).outcome is Outcome.OVER_CAP
    assert _reserved_units(db_url) == 2


def test_backorder_only_where_allowed_and_dated_by_lead_time(db_url):
    build(db_url, incoming=0, backorder=False)
    r = res.reserve(UnitOfWork(db_url), 1, "RTR-42", 1, ReservationKind.BACKORDER, today=TODAY)
    assert r.outcome is Outcome.NOT_ALLOWED and r.kind is ReservationKind.BACKORDER and not r.alternatives.backorder
    assert result_text(r) == "This item can't be backordered. I can offer a restock alert or a similar item in stock."
    assert res.reserve(UnitOfWork(db_url), 1, "RTR-42", 1, ReservationKind.PREORDER, today=TODAY).outcome is Outcome.SOLD_OUT


def test_backorder_gets_lead_time_date_and_is_served_when_stock_arrives(db_url):
    world = build(db_url, incoming=0)
    r = res.reserve(UnitOfWork(db_url), world.customers[0], "RTR-42", 2, ReservationKind.BACKORDER, today=TODAY)
    assert r.outcome is Outcome.RESERVED and r.reservation.expected == TODAY + dt.timedelta(days=14)
    assert r.reservation.position == 1


@pytest.mark.parametrize("qty, problem, words", [
    (0, QuantityProblem.TOO_FEW, "at least 1"),
    (-1, QuantityProblem.TOO_FEW, "at least 1"),
    (-10**9, QuantityProblem.TOO_FEW, "at least 1"),
    (10**12, QuantityProblem.TOO_MANY, "At most 100"),
    (101, QuantityProblem.TOO_MANY, "At most 100"),
    ("3", QuantityProblem.NOT_A_WHOLE_NUMBER, "whole number"),
    (2.5, QuantityProblem.NOT_A_WHOLE_NUMBER, "whole number"),
    (True, QuantityProblem.NOT_A_WHOLE_NUMBER, "whole number"),
    (None, QuantityProblem.NOT_A_WHOLE_NUMBER, "whole number"),
])
def test_hostile_quantities_are_refused_and_write_nothing(db_url, qty, problem, words):
    world = build(db_url)
    r = res.reserve(UnitOfWork(db_url), world.customers[0], "RTR-42", qty, today=TODAY)
    assert r.outcome is Outcome.BAD_QUANTITY and r.problem is problem and r.reservation is None
    assert words in result_text(r)
    assert _reserved_units(db_url) == 0


@pytest.mark.parametrize("sku", ["'; DROP TABLE reservations; --", "RTR-42' OR '1'='1", "", "x" * 10_000])
def test_sql_looking_or_huge_skus_are_just_unknown_items(db_url, sku):
    world = build(db_url)
    r = res.reserve(UnitOfWork(db_url), world.customers[0], sku, 1, today=TODAY)
    assert r.outcome is Outcome.UNKNOWN_ITEM and r.reservation is None
    assert result_text(r) == "I couldn't find that item."
    assert _reserved_units(db_url) == 0


def test_in_stock_items_need_no_reservation(db_url):
    world = build(db_url, on_hand=5)
    assert res.reserve(UnitOfWork(db_url), world.customers[0], "RTR-42", 1, today=TODAY).outcome is Outcome.IN_STOCK


def test_show_change_cancel_only_ones_own(db_url):
    world = build(db_url, incoming=5)
    a, b = world.customers[:2]
    mine = res.reserve(UnitOfWork(db_url), a, "RTR-42", 2, today=TODAY).reservation
    res.reserve(UnitOfWork(db_url), b, "RTR-42", 2, today=TODAY)
    assert [v.id for v in res.list_reservations(UnitOfWork(db_url), a)] == [mine.id]
    assert res.change_quantity(UnitOfWork(db_url), b, mine.id, 1).outcome is Outcome.NOT_FOUND
    assert res.cancel_reservation(UnitOfWork(db_url), b, mine.id).outcome is Outcome.NOT_FOUND
    too_many = res.change_quantity(UnitOfWork(db_url), a, mine.id, 4)  # only 1 more unit is free
    assert too_many.outcome is Outcome.NOT_ENOUGH_INCOMING
    changed = res.change_quantity(UnitOfWork(db_url), a, mine.id, 3)
    assert changed.outcome is Outcome.CHANGED and changed.reservation.position == 1
    assert changed.reservation.quantity == 3 and result_text(changed).startswith("Changed to 3: you are #1")
    cancelled = res.cancel_reservation(UnitOfWork(db_url), a, mine.id)
    assert cancelled.outcome is Outcome.CANCELLED and cancelled.reservation.status is ReservationStatus.CANCELLED
    assert res.list_reservations(UnitOfWork(db_url), a) == []
    assert _reserved_units(db_url) == 2


def test_repeated_idempotency_key_reserves_once(db_url):
    world = build(db_url)
    cid = world.customers[0]
    first = res.reserve(UnitOfWork(db_url), cid, "RTR-42", 1, today=TODAY, idempotency_key="conv-1:confirm-1")
    again = res.reserve(UnitOfWork(db_url), cid, "RTR-42", 1, today=TODAY, idempotency_key="conv-1:confirm-1")
    assert first.outcome is Outcome.RESERVED and again.outcome is Outcome.ALREADY_RESERVED
    assert first.reservation.id == again.reservation.id and _reserved_units(db_url) == 1


def test_receiving_allocates_preorders_in_order_and_partial_delivery_keeps_promises(db_url):
    world = build(db_url, incoming=10)
    a, b, c = world.customers
    ra = res.reserve(UnitOfWork(db_url), a, "RTR-42", 3, today=TODAY).reservation
    rb = res.reserve(UnitOfWork(db_url), b, "RTR-42", 3, today=TODAY).reservation
    rc = res.reserve(UnitOfWork(db_url), c, "RTR-42", 4, today=TODAY).reservation
    report = purchasing.receive_purchase_order(UnitOfWork(db_url), "PO-1001", all_lines_qty=4)
    assert report.received == {"RTR-42": 4} and report.allocated == 4
    views = {v.id: v for cid in (a, b, c) for v in res.list_reservations(UnitOfWork(db_url), cid)}
    assert (views[ra.id].status, views[rb.id].quantity_allocated, views[rc.id].quantity_allocated) == ("allocated", 1, 0)
    assert views[rb.id].position == 1 and views[rc.id].position == 2  # the queue moved up
    with UnitOfWork(db_url) as uow:
        assert uow.promises.available([world.variant_id], utcnow())[world.variant_id] == 0
        assert uow.session.execute(select(StockLevel.on_hand).where(StockLevel.variant_id == world.variant_id)).scalar() == 4
    report = purchasing.receive_purchase_order(UnitOfWork(db_url), "PO-1001")
    assert report.allocated == 6 and report.po_status == "received"
    assert all(v.status == "allocated" for cid in (a, b, c) for v in res.list_reservations(UnitOfWork(db_url), cid))
