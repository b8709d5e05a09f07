"""Pre-order, order, refund, alert and handoff actions with real trackers over a real database.

Each test works on its own copy of the seeded demo store, so reservations and refunds
made by one test never change what another sees.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import uuid

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions import runtime
from actions.alerts import ActionCancelReservation, ActionShowMyRequests, ActionSubscribeRestock, ActionUnsubscribeRestock
from actions.handoff import ActionRequestHandoff
from actions.orders import ActionHandleOrder, ValidateOrderForm
from actions.preorder import ActionAskPreorderConfirmed, ActionSubmitPreorder, ValidatePreorderForm
from catalog.db.orm import HandoffTicket, LedgerEntry, Order, OrderLine, Reservation, RestockSubscription, Variant
from catalog.domain.stock import Outlook, outlook_for
from catalog.uow import UnitOfWork


@pytest.fixture(autouse=True)
def own_db(seeded_sqlite, tmp_path, monkeypatch):
    target = tmp_path / "catalog.db"
    source, dest = sqlite3.connect(seeded_sqlite.removeprefix("sqlite:///")), sqlite3.connect(target)
    with dest:
        source.backup(dest)
    source.close()
    dest.close()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{target}")
    monkeypatch.setenv("SEMANTIC_SEARCH", "0")  # fuzzy + SKU is enough here and keeps these tests quick
    runtime.resolver.cache_clear()
    yield
    runtime.resolver.cache_clear()


def tracker(text="", intent="inform", entities=None, slots=None, sender=None, requested=None,
            events=None, channel="rest") -> Tracker:
    slots = dict(slots or {})
    slots.setdefault("requested_slot", requested)
    return Tracker(sender_id=sender or f"t-{uuid.uuid4().hex[:8]}", slots=slots,
                   latest_message={"text": text, "intent": {"name": intent, "confidence": 1.0},
                                   "entities": entities or []},
                   events=events or [{"event": "user", "text": text, "input_channel": channel}],
                   paused=False, followup_action=None, active_loop={}, latest_action_name="action_listen")


def run(action, t):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, {"forms": {}, "slots": {}}))
    return dispatcher.messages, events


def validate(form, t, slot, value):
    dispatcher = CollectingDispatcher()
    result = asyncio.run(getattr(form, f"validate_{slot}")(value, dispatcher, t, {}))
    return dispatcher.messages, result


def texts(messages):
    return " ".join(m.get("text") or "" for m in messages)


def preorderable(min_free=1):
    """A variant with units on an open purchase order, pre-orderable, not in stock."""
    with UnitOfWork() as uow:
        for v in uow.session.execute(select(Variant).where(Variant.preorder_allowed)).scalars():
            for s in uow.catalog.variant_stock(v.product_id):
                o = outlook_for(s, dt.date.today(), 5)
                if s.sku == v.sku and o.outlook is Outlook.INCOMING and o.restock_qty >= min_free \
                        and (v.max_per_customer is None or v.max_per_customer >= 2):
                    return v.sku, o
    raise AssertionError("no pre-orderable variant in the demo store")


def test_preorder_form_quotes_confirms_and_reserves_with_place_in_line():
    sku, outlook = preorderable(min_free=2)
    sender = "shopper-pre"
    messages, slots = validate(ValidatePreorderForm(), tracker(sender=sender), "preorder_sku", sku)
    assert slots == {"preorder_sku": sku, "preorder_kind": "preorder"} and messages == []
    _, slots = validate(ValidatePreorderForm(), tracker("2", sender=sender, requested="quantity",
                        slots={"preorder_sku": sku, "preorder_kind": "preorder"}), "quantity", "2")
    assert slots == {"quantity": "2"}
    filled = {"preorder_sku": sku, "preorder_kind": "preorder", "quantity": "2"}
    messages, _ = run(ActionAskPreorderConfirmed(), tracker(sender=sender, slots=filled))
    summary = texts(messages)
    assert "pre-order 2 x" in summary and "in total" in summary and "#1 in line" in summary
    assert "If the date slips" in summary and [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]
    confirm = tracker(sender=sender, slots={**filled, "preorder_confirmed": True},
                      events=[{"event": "active_loop", "name": "preorder_form", "timestamp": 1.0}])
    messages, events = run(ActionSubmitPreorder(), confirm)
    assert "you are #1; due around" in texts(messages)
    again, _ = run(ActionSubmitPreorder(), confirm)  # a double-clicked "yes"
    with UnitOfWork() as uow:
        rows = uow.session.execute(select(Reservation.quantity).join(Variant).where(Variant.sku == sku)).scalars().all()
    assert rows == [2] and "Already reserved" not in texts(messages)
    assert {e["name"]: e["value"] for e in events if e["event"] == "slot"}["preorder_sku"] is None


def test_quantity_over_the_cap_is_refused_and_asked_again():
    with UnitOfWork() as uow:
        capped = uow.session.execute(select(Variant.sku, Variant.max_per_customer)
                                     .where(Variant.max_per_customer.is_not(None), Variant.preorder_allowed)).all()
    for sku, cap in capped:
        messages, slots = validate(ValidatePreorderForm(), tracker(), "preorder_sku", sku)
        if slots.get("preorder_kind") not in (None, "none"):
            break
    else:
        pytest.skip("no capped, reservable variant")
    messages, result = validate(ValidatePreorderForm(), tracker(str(cap + 1), requested="quantity",
                                slots=slots), "quantity", str(cap + 1))
    assert result == {"quantity": None} and f"at most {cap}" in texts(messages)


@pytest.mark.parametrize("value", ["0", "-3", "lots", "100000", "'; DROP TABLE reservations; --"])
def test_bad_quantities_get_a_clear_message(value):
    messages, result = validate(ValidatePreorderForm(), tracker(value, requested="quantity"), "quantity", value)
    assert result == {"quantity": None} and "number of units" in texts(messages)


def test_denied_confirmation_reserves_nothing():
    sku, _ = preorderable()
    messages, _ = run(ActionSubmitPreorder(), tracker(slots={"preorder_sku": sku, "preorder_kind": "preorder",
                                                             "quantity": "1", "preorder_confirmed": False}))
    assert "haven't reserved anything" in texts(messages)
    with UnitOfWork() as uow:
        assert uow.session.execute(select(func.count()).select_from(Reservation)).scalar() == 0


def _waiting_order():
    with UnitOfWork() as uow:
        order = uow.session.execute(select(Order).join(OrderLine).where(OrderLine.status == "waiting_stock")
                                    .order_by(Order.id)).scalars().first()
        return order.number, order.email


def test_order_form_refuses_a_wrong_email_and_accepts_the_right_one():
    number, email = _waiting_order()
    form = ValidateOrderForm()
    messages, result = validate(form, tracker(slots={"order_id": number}), "email", "someone.else@example.com")
    assert result == {"email": None, "order_id": None} and "couldn't match" in texts(messages)
    messages, result = validate(form, tracker(slots={"order_id": number}), "email", f"  {email.upper()} ")
    assert result == {"email": email.upper()} and messages == []


def test_guessing_order_numbers_is_rate_limited():
    number, email = _waiting_order()
    sender = "guesser"
    for guess in range(6):
        validate(ValidateOrderForm(), tracker(sender=sender, slots={"order_id": str(900000 + guess)}),
                 "email", "victim@example.com")
    messages, _ = run(ActionHandleOrder(), tracker(sender=sender, slots={"order_id": number, "email": email,
                                                                           "order_goal": "status"}))
    assert "15 minutes" in texts(messages) and number not in texts(messages)


def test_status_then_cancel_out_of_stock_lines_then_refund_pays_once():
    number, email = _waiting_order()
    base = {"order_id": number, "email": email}
    sender = "owner-1"
    messages, _ = run(ActionHandleOrder(), tracker(sender=sender, slots={**base, "order_goal": "status"}))
    assert f"Order {number}:" in texts(messages) and "waiting for stock" in texts(messages)
    messages, _ = run(ActionHandleOrder(), tracker(sender=sender, slots={**base, "order_goal": "cancel"}))
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert '/cancel_order{"cancel_scope": "out_of_stock"}' in payloads
    messages, _ = run(ActionHandleOrder(), tracker(sender=sender, slots={**base, "order_goal": "cancel",
                                                                         "cancel_scope": "out_of_stock"}))
    assert "I've cancelled" in texts(messages)
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/request_refund", "/request_store_credit"]
    refund = tracker(sender=sender, slots={**base, "order_goal": "refund"})
    first, _ = run(ActionHandleOrder(), refund)
    second, _ = run(ActionHandleOrder(), refund)  # retried / double-clicked
    with UnitOfWork() as uow:
        kinds = uow.session.execute(select(LedgerEntry.kind).join(Order, LedgerEntry.order_id == Order.id)
                                    .where(Order.number == number)).scalars().all()
    assert len([k for k in kinds if k in ("refund", "refund_pending")]) == 1
    assert texts(first) and texts(second)


def test_someone_elses_order_is_not_shown():
    number, email = _waiting_order()
    messages, _ = run(ActionHandleOrder(), tracker(slots={"order_id": number, "email": "intruder@example.com",
                                                          "order_goal": "status"}))
    assert "couldn't match" in texts(messages) and "waiting for stock" not in texts(messages)


def test_subscribe_list_and_unsubscribe_restock_alerts():
    with UnitOfWork() as uow:
        sku = uow.session.execute(select(Variant.sku).order_by(Variant.id)).scalars().first()
    sender = "alerts-1"
    messages, _ = run(ActionSubscribeRestock(), tracker(f"tell me when {sku} is back", "subscribe_restock", sender=sender))
    assert "as soon as the" in texts(messages)
    run(ActionSubscribeRestock(), tracker(f"tell me when {sku} is back", "subscribe_restock", sender=sender))
    messages, _ = run(ActionShowMyRequests(), tracker("my alerts", "show_my_requests", sender=sender))
    assert texts(messages).count("Restock alert:") == 1
    messages, _ = run(ActionUnsubscribeRestock(), tracker("stop alerts", "unsubscribe_restock", sender=sender))
    assert "no more restock messages" in texts(messages)
    with UnitOfWork() as uow:
        assert uow.session.execute(select(RestockSubscription.status)).scalars().all() == ["cancelled"]


def test_cancel_reservation_only_touches_ones_own():
    sku, _ = preorderable()
    owner, other = "res-owner", "res-other"
    slots = {"preorder_sku": sku, "preorder_kind": "preorder", "quantity": "1", "preorder_confirmed": True}
    run(ActionSubmitPreorder(), tracker(sender=owner, slots=slots))
    with UnitOfWork() as uow:
        rid = uow.session.execute(select(Reservation.id)).scalar_one()
    entities = [{"entity": "reservation_id", "value": str(rid)}]
    messages, _ = run(ActionCancelReservation(), tracker("cancel", "cancel_reservation", entities, sender=other))
    assert "can't find" in texts(messages) or "no active" in texts(messages)
    messages, _ = run(ActionCancelReservation(), tracker("cancel", "cancel_reservation", entities, sender=owner))
    assert f"#{rid}" in texts(messages) and "cancelled" in texts(messages)


def test_handoff_opens_a_ticket_with_the_conversation():
    sender = "needs-human"
    events = [{"event": "user", "text": "my parcel is damaged", "input_channel": "rest"},
              {"event": "user", "text": "can I talk to a person?", "input_channel": "rest"}]
    messages, _ = run(ActionRequestHandoff(), tracker("can I talk to a person?", "human_handoff", sender=sender,
                                                       events=events))
    with UnitOfWork() as uow:
        ticket = uow.session.execute(select(HandoffTicket)).scalar_one()
        ticket_id, conversation, note = ticket.id, ticket.conversation_id, ticket.payload.get("note", "")
    assert f"ticket #{ticket_id}" in texts(messages)
    assert conversation == f"rest:{sender}" and "parcel is damaged" in note
