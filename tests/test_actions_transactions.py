"""Pre-order, order, refund, alert and handoff actions with real trackers over a real database.

Each test works on its own copy of the seeded demo store, so reservations and refunds
made by one test never change what another sees. The store is seeded as of `TODAY`.
"""
from __future__ import annotations

import asyncio
import json
import uuid
from decimal import Decimal

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions import runtime
from actions.alerts import (
    ActionCancelReservation,
    ActionChangeReservation,
    ActionShowMyRequests,
    ActionSubscribeRestock,
    ActionUnsubscribeRestock,
)
from actions.handoff import ActionRequestHandoff
from actions.orders import ActionHandleOrder, ValidateOrderForm
from actions.preorder import ActionAskPreorderConfirmed, ActionSubmitPreorder, ValidatePreorderForm
from catalog.config import low_stock_threshold
from catalog.db.orm import (
    ChannelIdentity,
    HandoffTicket,
    LedgerEntry,
    Order,
    OrderLine,
    Reservation,
    RestockSubscription,
    Variant,
)
from catalog.domain.ledger import cents
from catalog.domain.reservations import MAX_UNITS_PER_REQUEST
from catalog.domain.statuses import Channel, OrderLineStatus, ReservationKind, ReservationStatus
from catalog.domain.stock import Outlook, StockOutlook, outlook_for
from catalog.services.customers import customer_for_identity
from catalog.services.reservations import Outcome, reserve
from catalog.uow import UnitOfWork
from catalog.wording import alerts as alert_words
from catalog.wording import orders as order_words
from catalog.wording import preorders as says
from catalog.wording.conversation import handoff_opened
from catalog.wording.format import due, money, product_name
from tests.conftest import TODAY
from tests.servers import copy_sqlite

ORDER_SLOTS = ["order_id", "email"]  # the order form's slots (domain.yml)


@pytest.fixture(autouse=True)
def own_db(seeded_sqlite, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", copy_sqlite(seeded_sqlite, tmp_path / "catalog.db"))
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


def required(form, t, slots):
    return asyncio.run(form.required_slots(list(slots), CollectingDispatcher(), t, {}))


def texts(messages):
    return " ".join(m.get("text") or "" for m in messages)


def slots_of(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def preorderable_variants(min_free=1, min_cap=2) -> list[tuple[str, StockOutlook, Decimal, str]]:
    """Variants with units on an open purchase order, pre-orderable, not in stock:
    (sku, outlook, price, currency), read from the database."""
    found = []
    with UnitOfWork() as uow:
        for v in uow.session.execute(select(Variant).where(Variant.preorder_allowed).order_by(Variant.id)).scalars():
            for s in uow.catalog.variant_stock(v.product_id):
                o = outlook_for(s, TODAY, low_stock_threshold())
                if s.sku == v.sku and o.outlook is Outlook.INCOMING and o.restock_qty >= min_free \
                        and o.restock_date is not None and o.can_preorder \
                        and (v.max_per_customer is None or v.max_per_customer >= min_cap):
                    found.append((v.sku, o, s.price, s.currency))
    assert found, "no pre-orderable variant in the demo store"
    return found


def preorderable(min_free=1, min_cap=2) -> tuple[str, StockOutlook]:
    sku, outlook, _, _ = preorderable_variants(min_free, min_cap)[0]
    return sku, outlook


def name_of(sku: str) -> str:
    with UnitOfWork() as uow:
        p = uow.catalog.product_for_sku(sku)
    return product_name(p.title, p.brand)


def reservation_quantity(rid: int) -> int:
    with UnitOfWork() as uow:
        return uow.session.execute(select(Reservation.quantity).where(Reservation.id == rid)).scalar_one()


def test_preorder_form_quotes_confirms_and_reserves_with_place_in_line():
    sku, outlook, price, currency = preorderable_variants(min_free=2)[0]
    sender = "shopper-pre"
    messages, slots = validate(ValidatePreorderForm(), tracker(sender=sender), "preorder_sku", sku)
    assert slots == {"preorder_sku": sku, "preorder_kind": "preorder"} and messages == []
    _, slots = validate(ValidatePreorderForm(), tracker("2", sender=sender, requested="quantity",
                        slots={"preorder_sku": sku, "preorder_kind": "preorder"}), "quantity", "2")
    assert slots == {"quantity": "2"}
    filled = {"preorder_sku": sku, "preorder_kind": "preorder", "quantity": "2"}
    messages, _ = run(ActionAskPreorderConfirmed(), tracker(sender=sender, slots=filled))
    summary = texts(messages)
    assert summary.startswith(f"To confirm: pre-order 2 x {name_of(sku)} ({sku}) at {money(price, currency)} each, "
                              f"{money(price * 2, currency)} in total, expected around {due(outlook.restock_date)}. "
                              "You'd be #1 in line. ")
    assert says.SLIP_POLICY in summary and [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]
    confirm = tracker(sender=sender, slots={**filled, "preorder_confirmed": True},
                      events=[{"event": "active_loop", "name": "preorder_form", "timestamp": 1.0}])
    messages, events = run(ActionSubmitPreorder(), confirm)
    done = f"Done - 2 reserved for you: you are #1; due around {due(outlook.restock_date)}."
    assert texts(messages).startswith(done)
    again, _ = run(ActionSubmitPreorder(), confirm)  # a double-clicked "yes": the same answer, one reservation
    with UnitOfWork() as uow:
        rows = uow.session.execute(select(Reservation.quantity).join(Variant).where(Variant.sku == sku)).scalars().all()
    assert rows == [2] and texts(again) == texts(messages)
    assert {e["name"]: e["value"] for e in events if e["event"] == "slot"}["preorder_sku"] is None


def test_quantity_over_the_cap_is_refused_and_asked_again():
    with UnitOfWork() as uow:
        capped = uow.session.execute(select(Variant.sku, Variant.max_per_customer)
                                     .where(Variant.max_per_customer.is_not(None), Variant.preorder_allowed)
                                     .order_by(Variant.id)).all()
    for sku, cap in capped:
        messages, slots = validate(ValidatePreorderForm(), tracker(), "preorder_sku", sku)
        if slots.get("preorder_kind") not in (None, "none"):
            break
    else:
        pytest.fail("no capped, reservable variant in the demo store")
    messages, result = validate(ValidatePreorderForm(), tracker(str(cap + 1), requested="quantity",
                                slots=slots), "quantity", str(cap + 1))
    assert result == {"quantity": None}
    assert texts(messages) == f"You can reserve at most {cap} of this item per customer; {cap} more for you." \
        + says.HOW_MANY_INSTEAD


@pytest.mark.parametrize("value", ["0", "-3", "lots", str(MAX_UNITS_PER_REQUEST + 1), "100000",
                                   "'; DROP TABLE reservations; --"])
def test_bad_quantities_get_a_clear_message(value):
    messages, result = validate(ValidatePreorderForm(), tracker(value, requested="quantity"), "quantity", value)
    assert result == {"quantity": None}
    assert texts(messages) == f"Please tell me a number of units between 1 and {MAX_UNITS_PER_REQUEST}."


def test_the_largest_quantity_a_request_may_ask_for_is_accepted():
    messages, result = validate(ValidatePreorderForm(), tracker(str(MAX_UNITS_PER_REQUEST), requested="quantity"),
                                "quantity", str(MAX_UNITS_PER_REQUEST))
    assert result == {"quantity": str(MAX_UNITS_PER_REQUEST)} and messages == []


def test_denied_confirmation_reserves_nothing():
    sku, _ = preorderable()
    messages, _ = run(ActionSubmitPreorder(), tracker(slots={"preorder_sku": sku, "preorder_kind": "preorder",
                                                             "quantity": "1", "preorder_confirmed": False}))
    assert texts(messages) == "OK, I haven't reserved anything. Anything else I can check for you?"
    with UnitOfWork() as uow:
        assert uow.session.execute(select(func.count()).select_from(Reservation)).scalar() == 0


def _waiting_order():
    with UnitOfWork() as uow:
        order = uow.session.execute(select(Order).join(OrderLine).where(OrderLine.status == OrderLineStatus.WAITING_STOCK)
                                    .order_by(Order.id)).scalars().first()
        return order.number, order.email


def _lines(number: str) -> list[tuple[str, int, str, Decimal]]:
    """(sku, quantity, status, price) of each line of an order, from the database."""
    with UnitOfWork() as uow:
        return [tuple(r) for r in uow.session.execute(
            select(Variant.sku, OrderLine.quantity, OrderLine.status, OrderLine.unit_price)
            .join(Order, OrderLine.order_id == Order.id).join(Variant, OrderLine.variant_id == Variant.id)
            .where(Order.number == number).order_by(OrderLine.id))]


def test_order_form_refuses_a_wrong_email_and_accepts_the_right_one():
    number, email = _waiting_order()
    form = ValidateOrderForm()
    messages, result = validate(form, tracker(slots={"order_id": number}), "email", "someone.else@example.com")
    assert result == {"email": None, "order_id": None} and texts(messages) == order_words.NO_MATCH
    messages, result = validate(form, tracker(slots={"order_id": number}), "email", f"  {email.upper()} ")
    assert result == {"email": email.upper()} and messages == []


def test_guessing_order_numbers_is_rate_limited():
    number, email = _waiting_order()
    sender = "guesser"
    for guess in range(6):
        validate(ValidateOrderForm(), tracker(sender=sender, slots={"order_id": str(900000 + guess)}),
                 "email", "victim@example.com")
    messages, events = run(ActionHandleOrder(), tracker(sender=sender, slots={"order_id": number, "email": email,
                                                                                "order_goal": "status"}))
    assert texts(messages) == order_words.TOO_MANY and "15 minutes" in texts(messages)
    assert number not in texts(messages)
    assert slots_of(events) == {"order_id": None, "email": None, "cancel_scope": None}


def test_status_then_cancel_out_of_stock_lines_then_refund_pays_once():
    number, email = _waiting_order()
    lines = _lines(number)
    waiting = [(sku, q) for sku, q, status, _ in lines if status == OrderLineStatus.WAITING_STOCK]
    base = {"order_id": number, "email": email}
    sender = "owner-1"
    messages, _ = run(ActionHandleOrder(), tracker(sender=sender, slots={**base, "order_goal": "status"}))
    assert texts(messages).startswith(f"Order {number}: ")
    for sku, quantity in waiting:
        assert f"{quantity} x {sku}: waiting for stock" in texts(messages)
    messages, _ = run(ActionHandleOrder(), tracker(sender=sender, slots={**base, "order_goal": "cancel"}))
    assert texts(messages).endswith(order_words.WHAT_TO_CANCEL)
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert '/cancel_order{"cancel_scope": "out_of_stock"}' in payloads
    messages, _ = run(ActionHandleOrder(), tracker(sender=sender, slots={**base, "order_goal": "cancel",
                                                                         "cancel_scope": "out_of_stock"}))
    cancelled = ", ".join(f"{q} x {sku}" for sku, q in waiting)
    assert texts(messages).startswith(f"Done - I've cancelled {cancelled} from order {number} (")
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/request_refund", "/request_store_credit"]
    assert [(sku, q) for sku, q, status, _ in _lines(number) if status == OrderLineStatus.CANCELLED] == waiting
    refund = tracker(sender=sender, slots={**base, "order_goal": "refund"})
    first, _ = run(ActionHandleOrder(), refund)
    second, _ = run(ActionHandleOrder(), refund)  # retried / double-clicked
    with UnitOfWork() as uow:
        kinds = uow.session.execute(select(LedgerEntry.kind).join(Order, LedgerEntry.order_id == Order.id)
                                    .where(Order.number == number)).scalars().all()
        currency = uow.session.execute(select(Order.currency).where(Order.number == number)).scalar_one()
    assert len([k for k in kinds if k in ("refund", "refund_pending")]) == 1
    amount = sum((cents(price * q) for sku, q, status, price in lines if status == OrderLineStatus.WAITING_STOCK),
                 Decimal("0"))
    assert f"A refund of {amount} {currency} " in texts(first)
    assert texts(second) == texts(first)  # the same decision, answered the same way, paid once


def test_someone_elses_order_is_not_shown():
    number, email = _waiting_order()
    messages, _ = run(ActionHandleOrder(), tracker(slots={"order_id": number, "email": "intruder@example.com",
                                                          "order_goal": "status"}))
    assert texts(messages) == order_words.NO_MATCH and number not in texts(messages)


def _telegram_customer_with_an_order() -> tuple[str, str]:
    """(telegram user id, order number) of a demo customer linked to Telegram."""
    with UnitOfWork() as uow:
        row = uow.session.execute(
            select(ChannelIdentity.external_id, Order.number)
            .join(Order, Order.customer_id == ChannelIdentity.customer_id)
            .where(ChannelIdentity.channel == Channel.TELEGRAM).order_by(Order.id)).first()
    assert row, "no demo customer with an order is linked to Telegram"
    return row[0], row[1]


def test_a_linked_telegram_user_gets_the_order_status_with_the_number_alone():
    telegram_id, number = _telegram_customer_with_an_order()
    on_telegram = tracker(number, "order_status", sender=telegram_id, channel="telegram",
                          slots={"order_id": number, "order_goal": "status"})
    assert required(ValidateOrderForm(), on_telegram, ORDER_SLOTS) == []  # no email asked
    messages, events = run(ActionHandleOrder(), on_telegram)
    assert texts(messages).startswith(f"Order {number}: ") and events == []
    for sku, quantity, _, _ in _lines(number):
        assert f"{quantity} x {sku}: " in texts(messages)


def test_the_same_id_on_an_untrusted_channel_is_asked_for_the_email():
    telegram_id, number = _telegram_customer_with_an_order()
    on_rest = tracker(number, "order_status", sender=telegram_id, channel="rest",
                      slots={"order_id": number, "order_goal": "status"})
    assert required(ValidateOrderForm(), on_rest, ORDER_SLOTS) == ORDER_SLOTS
    messages, events = run(ActionHandleOrder(), on_rest)
    assert texts(messages) == order_words.NO_MATCH and number not in texts(messages)
    assert slots_of(events) == {"order_id": None, "email": None, "cancel_scope": None}


def test_a_telegram_user_linked_to_someone_else_is_asked_for_the_email():
    _, number = _telegram_customer_with_an_order()
    stranger = "5550001234"
    customer_for_identity(UnitOfWork(), Channel.TELEGRAM, stranger)  # linked to a new customer, not the order's
    on_telegram = tracker(number, "order_status", sender=stranger, channel="telegram",
                          slots={"order_id": number, "order_goal": "status"})
    assert required(ValidateOrderForm(), on_telegram, ORDER_SLOTS) == ORDER_SLOTS
    messages, _ = run(ActionHandleOrder(), on_telegram)
    assert texts(messages) == order_words.NO_MATCH


def test_subscribe_list_and_unsubscribe_restock_alerts():
    with UnitOfWork() as uow:
        sku = uow.session.execute(select(Variant.sku).order_by(Variant.id)).scalars().first()
        title = uow.catalog.product_for_sku(sku).title
    sender = "alerts-1"
    messages, _ = run(ActionSubscribeRestock(), tracker(f"tell me when {sku} is back", "subscribe_restock", sender=sender))
    assert texts(messages) == alert_words.subscribed(name_of(sku), sku)
    assert f"as soon as the {name_of(sku)} ({sku}) is back in stock" in texts(messages)
    run(ActionSubscribeRestock(), tracker(f"tell me when {sku} is back", "subscribe_restock", sender=sender))
    messages, _ = run(ActionShowMyRequests(), tracker("my alerts", "show_my_requests", sender=sender))
    assert texts(messages) == f"Here's what you have with us:\nRestock alert: {title} ({sku})"
    messages, _ = run(ActionUnsubscribeRestock(), tracker("stop alerts", "unsubscribe_restock", sender=sender))
    assert texts(messages) == f"Done - no more restock messages for: {title}."
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
    assert texts(messages) == says.NO_SUCH_RESERVATION
    with UnitOfWork() as uow:
        assert uow.session.get(Reservation, rid).status == ReservationStatus.ACTIVE
    messages, _ = run(ActionCancelReservation(), tracker("cancel", "cancel_reservation", entities, sender=owner))
    assert texts(messages) == f"Done - reservation #{rid} for {name_of(sku)} is cancelled."
    with UnitOfWork() as uow:
        assert uow.session.get(Reservation, rid).status == ReservationStatus.CANCELLED


def _owned_reservation(sender: str, min_id: int = 10, min_free: int = 5) -> tuple[int, str]:
    """A one-unit pre-order of `sender` whose number has at least two digits (other shoppers'
    reservations come first), so a reservation number mistaken for a quantity would show."""
    mine, *others = preorderable_variants(min_free=min_free, min_cap=5)
    made = 0
    for sku, *_ in others * 3:
        if made >= min_id:
            break
        who = customer_for_identity(UnitOfWork(), Channel.REST, f"filler-{made}")
        made += reserve(UnitOfWork(), who, sku, 1, ReservationKind.PREORDER, today=TODAY).outcome is Outcome.RESERVED
    sku = mine[0]
    run(ActionSubmitPreorder(), tracker(sender=sender, slots={"preorder_sku": sku, "preorder_kind": "preorder",
                                                              "quantity": "1", "preorder_confirmed": True}))
    with UnitOfWork() as uow:
        rid = uow.session.execute(select(Reservation.id).join(Variant).where(Variant.sku == sku)).scalar_one()
    assert rid >= min_id and reservation_quantity(rid) == 1
    return rid, sku


def test_changing_a_reservation_from_its_button_asks_how_many_then_changes_it():
    sender = "res-change"
    rid, sku = _owned_reservation(sender)
    payload = "/change_reservation" + json.dumps({"reservation_id": str(rid)})
    pressed = tracker(payload, "change_reservation", [{"entity": "reservation_id", "value": str(rid)}], sender=sender)
    messages, events = run(ActionChangeReservation(), pressed)
    assert texts(messages) == (f"How many would you like on reservation #{rid} instead? "
                               "For example: \"change it to 2\".")
    assert slots_of(events) == {"reservation_id": str(rid)}
    assert reservation_quantity(rid) == 1  # the reservation's number is not a quantity
    answer = tracker("3", "inform", sender=sender, slots={"reservation_id": str(rid)})
    messages, events = run(ActionChangeReservation(), answer)
    with UnitOfWork() as uow:
        expected = uow.session.get(Reservation, rid).promised_eta
    assert texts(messages) == f"Done - reservation #{rid} is now for 3; due around {due(expected)}."
    assert slots_of(events) == {"reservation_id": None, "quantity": None}
    assert reservation_quantity(rid) == 3


def test_change_typed_with_the_reservation_number_takes_the_quantity_not_the_number():
    sender = "res-typed"
    rid, _ = _owned_reservation(sender)
    typed = tracker(f"change #{rid} to 2", "change_reservation", [{"entity": "reservation_id", "value": str(rid)}],
                    sender=sender)
    messages, _ = run(ActionChangeReservation(), typed)
    assert texts(messages).startswith(f"Done - reservation #{rid} is now for 2")
    assert reservation_quantity(rid) == 2
    # the quantity entity wins over anything else in the message
    typed = tracker(f"reservation {rid}: make it 4 please", "change_reservation",
                    [{"entity": "reservation_id", "value": str(rid)}, {"entity": "quantity", "value": "4"}],
                    sender=sender)
    messages, _ = run(ActionChangeReservation(), typed)
    assert texts(messages).startswith(f"Done - reservation #{rid} is now for 4") and reservation_quantity(rid) == 4


def test_answering_how_many_with_the_reservation_number_is_a_quantity():
    """After "how many?", a shopper who wants as many units as the reservation's number says
    ("12" for #12) means twelve units: only a number named in the same message is skipped."""
    sender = "res-same-number"
    rid, sku = _owned_reservation(sender, min_free=40)
    free = next(o.restock_qty for s, o, *_ in preorderable_variants(min_free=40, min_cap=5) if s == sku)
    assert free >= rid, "the test needs room for as many units as the reservation's number"
    answer = tracker(str(rid), "inform", sender=sender, slots={"reservation_id": str(rid)})
    messages, events = run(ActionChangeReservation(), answer)
    assert texts(messages).startswith(f"Done - reservation #{rid} is now for {rid};")
    assert slots_of(events) == {"reservation_id": None, "quantity": None}
    assert reservation_quantity(rid) == rid


def test_handoff_opens_a_ticket_with_the_conversation():
    sender = "needs-human"
    events = [{"event": "user", "text": "my parcel is damaged", "input_channel": "rest"},
              {"event": "user", "text": "can I talk to a person?", "input_channel": "rest"}]
    messages, _ = run(ActionRequestHandoff(), tracker("can I talk to a person?", "human_handoff", sender=sender,
                                                       events=events))
    with UnitOfWork() as uow:
        ticket = uow.session.execute(select(HandoffTicket)).scalar_one()
        ticket_id, conversation, note = ticket.id, ticket.conversation_id, ticket.payload.get("note", "")
    assert texts(messages) == handoff_opened(ticket_id) and f"(ticket #{ticket_id})" in texts(messages)
    assert conversation == f"rest:{sender}" and "parcel is damaged" in note and "talk to a person" in note
