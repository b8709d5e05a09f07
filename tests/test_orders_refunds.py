"""Order access (proof, other users, guessing), status, cancelling, and the refund ledger."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from catalog.db.engine import engine_for
from catalog.db.orm import HandoffTicket, LedgerEntry
from catalog.services import orders, refunds
from catalog.services.handoff import request_handoff
from catalog.services.orders import Access, AccessDenied, OrderProof
from catalog.clock import utcnow
from catalog.domain.statuses import LedgerKind, OrderLineStatus, TicketReason, TicketStatus
from catalog.policy import MoneySettings
from catalog.services.refunds import Method, Settlement
from catalog.uow import UnitOfWork
from catalog.wording.format import day
from catalog.wording.orders import describe
from catalog.wording.refunds import REFUND_TIME, decision_text, settlement_text
from tests.conftest import TODAY
from tests.race import at_once
from tests.world import ETA, build

SETTINGS = MoneySettings(Decimal("10"), Decimal("200"))


def proof(world, conversation="conv-1", **kw):
    values = dict(conversation_id=conversation, order_number=world.order_number, email=world.order_email)
    values.update(kw)
    return OrderProof(**values)


def _ledger(url):
    with UnitOfWork(url) as uow:
        return [tuple(r) for r in uow.session.execute(
            select(LedgerEntry.kind, LedgerEntry.amount, LedgerEntry.bonus).order_by(LedgerEntry.id)).all()]


def test_status_per_line_with_the_date_for_waiting_lines(db_url):
    world = build(db_url)
    status = orders.order_status(UnitOfWork(db_url), proof(world, email="  ann.smith@EXAMPLE.com "))
    assert [(line.status, line.expected) for line in status.lines] == [("shipped", None), ("waiting_stock", ETA)]
    assert [line.sku for line in status.waiting] == ["RTR-42"] and [line.sku for line in status.cancellable] == ["RTR-42"]
    assert describe(status, TODAY) == (f"Order SO-10001: 1 x RTR-43: shipped; 2 x RTR-42: waiting for stock, "
                                       f"expected around {day(ETA, TODAY)}.")


def test_linked_chat_identity_is_proof_but_another_customers_is_not(db_url):
    world = build(db_url)
    assert orders.check_access(UnitOfWork(db_url), proof(world, email=None, channel="telegram", external_id="tg0")) is Access.GRANTED
    assert orders.check_access(UnitOfWork(db_url), proof(world, email=None, channel="telegram", external_id="tg1")) is Access.DENIED
    assert orders.check_access(UnitOfWork(db_url), proof(world, email=None, channel="web", external_id="tg0")) is Access.DENIED


@pytest.mark.parametrize("email", ["ann.smith@example.org", "", None, "c1@example.com", "' OR 1=1 --", "ann.smith@example.com\x00"])
def test_wrong_or_missing_proof_sees_and_changes_nothing(db_url, email):
    world = build(db_url)
    with pytest.raises(AccessDenied):
        orders.order_status(UnitOfWork(db_url), proof(world, email=email))
    with pytest.raises(AccessDenied):
        orders.cancel_order(UnitOfWork(db_url), proof(world, email=email))
    with pytest.raises(AccessDenied):
        refunds.settle_cancelled_lines(UnitOfWork(db_url), proof(world, email=email), Method.REFUND, "k1", settings=SETTINGS)
    status = orders.order_status(UnitOfWork(db_url), proof(world, conversation="owner"))
    assert [line.status for line in status.lines] == ["shipped", "waiting_stock"] and _ledger(db_url) == []


def test_guessing_order_numbers_is_rate_limited_even_with_the_right_proof_afterwards(db_url):
    world = build(db_url)
    for n in range(5):
        assert orders.check_access(UnitOfWork(db_url), proof(world, order_number=f"SO-{20000 + n}")) is Access.DENIED
    assert orders.check_access(UnitOfWork(db_url), proof(world)) is Access.RATE_LIMITED
    assert orders.check_access(UnitOfWork(db_url), proof(world, conversation="other")) is Access.GRANTED
    later = utcnow() + dt.timedelta(minutes=16)
    assert orders.check_access(UnitOfWork(db_url), proof(world), now=later) is Access.GRANTED


def test_one_order_number_sprayed_from_many_conversations_is_locked(db_url):
    world = build(db_url)
    for n in range(10):
        orders.check_access(UnitOfWork(db_url), proof(world, conversation=f"bot-{n}", email=f"guess{n}@x.com"))
    assert orders.check_access(UnitOfWork(db_url), proof(world, conversation="fresh")) is Access.RATE_LIMITED


def test_cancel_out_of_stock_lines_then_refund_or_credit_pays_once(db_url):
    world = build(db_url)
    cancelled = orders.cancel_order(UnitOfWork(db_url), proof(world), only_out_of_stock=True)
    assert [line.status for line in cancelled.cancelled] == [OrderLineStatus.WAITING_STOCK] and cancelled.amount == Decimal("91.00")
    credit = refunds.settle_cancelled_lines(UnitOfWork(db_url), proof(world), Method.STORE_CREDIT, "dec-1", settings=SETTINGS)
    assert (credit.settlement, credit.amount, credit.bonus, credit.credit) == (
        Settlement.PAID, Decimal("91.00"), Decimal("9.10"), Decimal("100.10"))
    again = refunds.settle_cancelled_lines(UnitOfWork(db_url), proof(world), Method.STORE_CREDIT, "dec-1", settings=SETTINGS)
    assert again.replayed and again.amount == Decimal("91.00")
    other_key = refunds.settle_cancelled_lines(UnitOfWork(db_url), proof(world), Method.REFUND, "dec-2", settings=SETTINGS)
    assert other_key.settlement is Settlement.NOTHING_DUE
    assert settlement_text(credit) == "Store credit of 100.10 USD is on your account (91.00 plus a 9.10 bonus)."
    assert settlement_text(other_key) == "There is nothing left to refund on the cancelled items."
    assert _ledger(db_url) == [("store_credit", Decimal("91.00"), Decimal("9.10"))]


def test_twenty_identical_refund_requests_pay_once(db_url):
    world = build(db_url)
    orders.cancel_order(UnitOfWork(db_url), proof(world))
    results = at_once(lambda _: refunds.settle_cancelled_lines(
        UnitOfWork(db_url), proof(world), Method.REFUND, "double-click", settings=SETTINGS), range(20))
    assert {r.amount for r in results} == {Decimal("91.00")} and sum(not r.replayed for r in results) == 1
    assert {settlement_text(r) for r in results} == {
        f"A refund of 91.00 USD is on its way to your original payment method. {REFUND_TIME}"}
    assert _ledger(db_url) == [("refund", Decimal("91.00"), Decimal("0.00"))]


def test_twenty_different_keys_never_refund_more_than_paid(db_url):
    world = build(db_url)
    orders.cancel_order(UnitOfWork(db_url), proof(world))
    results = at_once(lambda i: refunds.settle_cancelled_lines(
        UnitOfWork(db_url), proof(world, conversation=f"c{i}"), Method.REFUND, f"key-{i}", settings=SETTINGS), range(20))
    assert sum(r.settlement is Settlement.PAID for r in results) == 1
    assert sum(amount for _, amount, _ in _ledger(db_url)) == Decimal("91.00")  # the shipped line is not refunded


def test_refund_above_threshold_waits_for_approval_and_cannot_be_asked_twice(db_url):
    world = build(db_url, line_prices=("60.00", "150.00"))  # 2 x 150 = 300 > 200
    orders.cancel_order(UnitOfWork(db_url), proof(world), only_out_of_stock=True)
    held = refunds.settle_cancelled_lines(UnitOfWork(db_url), proof(world), Method.REFUND, "big-1", settings=SETTINGS)
    assert held.settlement is Settlement.PENDING_APPROVAL and held.ticket_id
    assert f"(ticket #{held.ticket_id})" in settlement_text(held) and "300.00 USD" in settlement_text(held)
    with UnitOfWork(db_url) as uow:
        ticket = uow.session.get(HandoffTicket, held.ticket_id)
        assert (ticket.reason, ticket.conversation_id, ticket.payload["amount"]) == ("refund_approval", "conv-1", "300.00")
    assert refunds.settle_cancelled_lines(UnitOfWork(db_url), proof(world), Method.REFUND, "big-2",
                                          settings=SETTINGS).settlement is Settlement.NOTHING_DUE
    rejected = refunds.decide_refund(UnitOfWork(db_url), held.ticket_id, approve=False, staff="alice")
    assert rejected.decided_now and not rejected.approve
    assert (rejected.amount, rejected.currency, rejected.order_number, rejected.conversation_id) == (
        "300.00", "USD", "SO-10001", "conv-1")
    assert "can't approve" in decision_text(rejected) and "SO-10001" in decision_text(rejected)
    again = refunds.decide_refund(UnitOfWork(db_url), held.ticket_id, approve=True, staff="bob")
    assert not again.decided_now  # already decided: nothing more is written
    assert _ledger(db_url) == [(LedgerKind.REFUND_PENDING, Decimal("300.00"), Decimal("0.00")),
                               (LedgerKind.REFUND_REJECTED, Decimal("300.00"), Decimal("0.00"))]
    with UnitOfWork(db_url) as uow:
        assert uow.session.get(HandoffTicket, held.ticket_id).status == TicketStatus.REJECTED
    assert refunds.refundable_amount(UnitOfWork(db_url), 1) == Decimal("360.00")
    credit = refunds.settle_cancelled_lines(UnitOfWork(db_url), proof(world), Method.STORE_CREDIT, "big-3", settings=SETTINGS)
    assert credit.settlement is Settlement.PAID and credit.credit == Decimal("330.00")  # credit needs no approval


@pytest.mark.parametrize("statement", ["UPDATE ledger_entries SET amount = 0", "DELETE FROM ledger_entries"])
def test_ledger_is_append_only(db_url, statement):
    world = build(db_url)
    orders.cancel_order(UnitOfWork(db_url), proof(world))
    refunds.settle_cancelled_lines(UnitOfWork(db_url), proof(world), Method.REFUND, "k", settings=SETTINGS)
    with pytest.raises(DBAPIError, match="append-only"):
        with engine_for(db_url).begin() as conn:
            conn.execute(text(statement))
    assert _ledger(db_url) == [("refund", Decimal("91.00"), Decimal("0.00"))]


def test_handoff_ticket_keeps_reason_and_conversation(db_url):
    build(db_url)
    tid = request_handoff(UnitOfWork(db_url), "conv-9", "customer_request", 1, note="please call me")
    weird = request_handoff(UnitOfWork(db_url), "conv-9", "'; DROP TABLE handoff_tickets; --")
    with UnitOfWork(db_url) as uow:
        t = uow.session.get(HandoffTicket, tid)
        assert (t.reason, t.conversation_id, t.payload["note"], t.status) == ("customer_request", "conv-9", "please call me", "open")
        assert uow.session.get(HandoffTicket, weird).reason == "other"
        assert uow.session.execute(select(func.count()).select_from(HandoffTicket)).scalar() == 2


def test_an_approved_refund_is_paid_once_and_only_refund_tickets_can_be_decided(db_url):
    world = build(db_url, line_prices=("60.00", "150.00"))
    orders.cancel_order(UnitOfWork(db_url), proof(world), only_out_of_stock=True)
    held = refunds.settle_cancelled_lines(UnitOfWork(db_url), proof(world), Method.REFUND, "big-1", settings=SETTINGS)
    other = request_handoff(UnitOfWork(db_url), "conv-1", TicketReason.CUSTOMER_REQUEST, world.customers[0])
    with pytest.raises(LookupError):
        refunds.decide_refund(UnitOfWork(db_url), other, approve=True, staff="alice")
    with pytest.raises(LookupError):
        refunds.decide_refund(UnitOfWork(db_url), 10**6, approve=True, staff="alice")
    approved = refunds.decide_refund(UnitOfWork(db_url), held.ticket_id, approve=True, staff="alice")
    assert approved.decided_now and approved.approve
    assert decision_text(approved) == ("Good news: your refund of 300.00 USD for order SO-10001 is approved and on its "
                                       "way to your original payment method.")
    assert not refunds.decide_refund(UnitOfWork(db_url), held.ticket_id, approve=False, staff="bob").decided_now
    assert [kind for kind, _, _ in _ledger(db_url)] == [LedgerKind.REFUND_PENDING, LedgerKind.REFUND_APPROVED]
    assert refunds.refundable_amount(UnitOfWork(db_url), 1) == Decimal("60.00")  # only the shipped line's price
