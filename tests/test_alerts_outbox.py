"""Restock alerts (first come, one per unit, once each), holds, delay notices, and the outbox."""
from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from sqlalchemy import select

from catalog.cli import LogDispatcher, main
from catalog.db.orm import ChannelIdentity, OutboxMessage
from catalog.domain.statuses import Channel, MessageKind, OutboxStatus, ReservationKind, ReservationStatus
from catalog.services import alerts, outbox, purchasing, reservations as res
from catalog.services.outbox import dispatch_once, enqueue_many, enqueue_values
from catalog.uow import UnitOfWork
from catalog.wording.notices import notice_text
from tests.conftest import TODAY
from tests.world import ETA, build, more_customers

NOW = dt.datetime.combine(TODAY, dt.time(14, 0))  # the services are handed this moment; nothing reads the clock


def _words(message) -> str:
    """What the customer reads: the queued facts worded as every channel's sender words them."""
    return notice_text(message.kind, message.payload, message.body)


class Recorder:
    def __init__(self, fail_ids=()):
        self.sent: list[int] = []
        self.lock = threading.Lock()
        self.fail_ids = set(fail_ids)

    def send(self, message):
        if message.id in self.fail_ids:
            raise ConnectionError("channel down")
        with self.lock:
            self.sent.append(message.id)


def _messages(url, kind=None):
    with UnitOfWork(url) as uow:
        q = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind:
            q = q.where(OutboxMessage.kind == kind)
        rows = uow.session.execute(q).scalars().all()
        uow.session.expunge_all()  # plain snapshots for assertions
        return rows


def test_subscribe_list_unsubscribe_and_twice_is_once(db_url):
    world = build(db_url)
    cid = world.customers[0]
    a = alerts.subscribe(UnitOfWork(db_url), cid, "telegram", "tg0", product_id=world.product_id)
    b = alerts.subscribe(UnitOfWork(db_url), cid, "telegram", "tg0", product_id=world.product_id)
    v = alerts.subscribe(UnitOfWork(db_url), cid, "telegram", "tg0", sku="rtr-42")
    assert a.id == b.id and v.sku == "RTR-42"
    assert [s.id for s in alerts.list_subscriptions(UnitOfWork(db_url), cid)] == [a.id, v.id]
    assert not alerts.unsubscribe(UnitOfWork(db_url), world.customers[1], a.id)  # not theirs
    assert alerts.unsubscribe(UnitOfWork(db_url), cid, a.id)
    assert [s.id for s in alerts.list_subscriptions(UnitOfWork(db_url), cid)] == [v.id]


@pytest.mark.parametrize("where, what, problem", [
    (("telegram", " "), {"sku": "RTR-42"}, alerts.AlertProblem.NO_RECIPIENT),
    (("telegram", "tg0"), {"sku": "NOPE-1"}, alerts.AlertProblem.UNKNOWN_ITEM),
    (("telegram", "tg0"), {"product_id": 10**6}, alerts.AlertProblem.UNKNOWN_PRODUCT),
])
def test_a_subscription_that_cannot_be_made_says_why_and_writes_nothing(db_url, where, what, problem):
    from catalog.wording.alerts import PROBLEMS

    world = build(db_url)
    with pytest.raises(alerts.AlertError) as raised:
        alerts.subscribe(UnitOfWork(db_url), world.customers[0], *where, **what)
    assert raised.value.problem is problem and PROBLEMS[problem]
    assert alerts.list_subscriptions(UnitOfWork(db_url), world.customers[0]) == []


def test_receiving_alerts_only_as_many_as_units_first_come_and_holds_them(db_url):
    world = build(db_url, incoming=3)
    subs = more_customers(db_url, 5)
    first = [alerts.subscribe(UnitOfWork(db_url), cid, "telegram", f"tg-{cid}", product_id=world.product_id).id
             for cid in subs][0]
    report = purchasing.receive_purchase_order(UnitOfWork(db_url), "PO-1001", now=NOW)
    assert report.alerts_queued == 3
    sent = _messages(db_url, MessageKind.RESTOCK_ALERT)
    assert [m.customer_id for m in sent] == subs[:3]
    until = NOW + dt.timedelta(hours=4)  # policies.yml: restock_hold_hours 4
    assert sent[0].body == "" and sent[0].payload == {
        "sku": "RTR-42", "product_id": world.product_id, "product": "Ridgeline Trail Runner", "color": "black",
        "size": "42", "held_until": until.isoformat(timespec="minutes"), "subscription_id": first}
    # The words the old code queued, now worded when sent.
    assert _words(sent[0]) == ("Good news: Ridgeline Trail Runner (black, size 42) is back in stock. One is held for "
                               f"you until 18:00 UTC on {until.day} {until:%b}.")
    with UnitOfWork(db_url) as uow:
        assert uow.promises.available([world.variant_id], NOW)[world.variant_id] == 0  # held units are not for sale
    # Holds expire: the next subscribers get the units, and nobody is alerted twice.
    expired, again = alerts.expire_holds(UnitOfWork(db_url), now=NOW + dt.timedelta(hours=5))
    assert expired == 3 and again.alerts_queued == 2
    assert Counter(m.customer_id for m in _messages(db_url, MessageKind.RESTOCK_ALERT)) == Counter(subs)
    _, third = alerts.expire_holds(UnitOfWork(db_url), now=NOW + dt.timedelta(hours=10))
    assert third.alerts_queued == 0


def test_import_that_raises_on_hand_serves_backorders_then_alerts(db_url, tmp_path):
    from catalog.services.importing import import_file
    from tests.conftest import write_csv

    header = ["sku", "title", "description", "category", "price", "on_hand", "backorder_allowed"]
    import_file(UnitOfWork(db_url), write_csv(tmp_path / "a.csv", header, [["IMP-1", "Mug", "", "Kitchen", "9.00", "0", "true"]]))
    c1, c2, c3 = more_customers(db_url, 3)
    assert res.reserve(UnitOfWork(db_url), c1, "IMP-1", 1, ReservationKind.BACKORDER, today=TODAY).outcome is res.Outcome.RESERVED
    alerts.subscribe(UnitOfWork(db_url), c2, "web", "w2", sku="IMP-1")
    alerts.subscribe(UnitOfWork(db_url), c3, "web", "w3", sku="IMP-1")
    report = import_file(UnitOfWork(db_url), write_csv(tmp_path / "b.csv", header, [["IMP-1", "Mug", "", "Kitchen", "9.00", "2", "true"]]))
    assert report.restocked_variant_ids
    assert [r.status for r in res.list_reservations(UnitOfWork(db_url), c1)] == [ReservationStatus.ALLOCATED]
    assert [m.customer_id for m in _messages(db_url, MessageKind.RESTOCK_ALERT)] == [c2]  # 2 units: backorder, then c2


def test_delay_notice_for_each_reservation_told_an_earlier_date(db_url):
    world = build(db_url, incoming=10)
    a, b, _ = world.customers
    res.reserve(UnitOfWork(db_url), a, "RTR-42", 1, today=TODAY)
    res.reserve(UnitOfWork(db_url), b, "RTR-42", 1, today=TODAY)
    later, sooner = ETA + dt.timedelta(days=8), ETA + dt.timedelta(days=3)
    report = purchasing.set_eta(UnitOfWork(db_url), "PO-1001", later)
    assert report.notices_queued == 2
    notices = _messages(db_url, MessageKind.DELAY_NOTICE)
    assert {m.customer_id for m in notices} == {a, b}
    assert {(m.channel, m.recipient) for m in notices} == {("telegram", "tg0"), ("telegram", "tg1")}
    assert notices[0].body == "" and notices[0].payload == {
        "reservation_id": notices[0].payload["reservation_id"], "sku": "RTR-42", "new_eta": later.isoformat(),
        "previous_eta": ETA.isoformat(), "choices": ["wait", "cancel_full_refund"]}
    # The words the old code queued, now worded when sent.
    assert _words(notices[0]) == (f"Your pre-order of RTR-42 is delayed: it is now due around {later.day} {later:%b} "
                                  f"(we said {ETA.day} {ETA:%b}). You can keep waiting, or cancel for a full refund.")
    assert purchasing.set_eta(UnitOfWork(db_url), "PO-1001", later).notices_queued == 0  # told already
    assert purchasing.set_eta(UnitOfWork(db_url), "PO-1001", sooner).notices_queued == 0  # earlier: good news
    assert [v.expected for v in res.list_reservations(UnitOfWork(db_url), a)] == [sooner]


def test_two_dispatchers_send_each_of_200_messages_exactly_once(db_url):
    with UnitOfWork(db_url) as uow:
        enqueue_many(uow.session, [enqueue_values(None, "log", f"r{i}", "test", {}, f"k{i}", NOW, body=f"m{i}")
                                   for i in range(200)])
        uow.commit()
    recorder = Recorder()
    barrier = threading.Barrier(2)

    def worker(name):
        barrier.wait()
        while dispatch_once(UnitOfWork(db_url), recorder, name, batch=7, now=NOW).claimed:
            pass

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(recorder.sent) == 200 and len(set(recorder.sent)) == 200
    assert all(m.status == OutboxStatus.SENT and m.sent_at for m in _messages(db_url))


def test_failed_sends_are_retried_later_and_dedupe_key_blocks_duplicates(db_url):
    with UnitOfWork(db_url) as uow:
        rows = [enqueue_values(None, "log", "r", "test", {}, f"same-{i % 2}", NOW, body=f"m{i}") for i in range(4)]
        assert enqueue_many(uow.session, rows) == 2
        uow.commit()
    first = _messages(db_url)[0].id
    result = dispatch_once(UnitOfWork(db_url), Recorder(fail_ids={first}), "w", now=NOW)
    assert (result.sent, result.failed) == (1, 1)
    assert dispatch_once(UnitOfWork(db_url), Recorder(), "w", now=NOW).claimed == 0  # backing off
    later = dispatch_once(UnitOfWork(db_url), Recorder(), "w", now=NOW + dt.timedelta(hours=1))
    assert later.sent == 1 and outbox.pending_count(UnitOfWork(db_url)) == 0


def test_log_dispatcher_logs(db_url, caplog):
    with UnitOfWork(db_url) as uow:
        enqueue_many(uow.session, [enqueue_values(None, "log", "r1", "test", {}, "k", NOW, body="hello there")])
        uow.commit()
    with caplog.at_level("INFO"):
        assert dispatch_once(UnitOfWork(db_url), LogDispatcher(), "w", now=NOW).sent == 1
    assert "hello there" in caplog.text


def test_dispatch_command_logs_rest_notices_in_words_and_leaves_email_waiting(db_url, caplog):
    """`catalog dispatch` writes chat messages no sender can push to the log; email has no
    sender yet, so its messages stay pending for one (never marked sent unsent)."""
    world = build(db_url, incoming=10, customers=1)
    by_rest, by_email = more_customers(db_url, 2)
    with UnitOfWork(db_url) as uow:
        uow.session.add(ChannelIdentity(customer_id=by_rest, channel=Channel.REST, external_id="rest-7"))
        uow.commit()
    for cid in (by_rest, by_email):
        assert res.reserve(UnitOfWork(db_url), cid, "RTR-42", 1, today=TODAY).outcome is res.Outcome.RESERVED
    later = ETA + dt.timedelta(days=8)
    assert purchasing.set_eta(UnitOfWork(db_url), world.po_reference, later).notices_queued == 2
    queued = {m.channel: m for m in _messages(db_url, MessageKind.DELAY_NOTICE)}
    assert set(queued) == {Channel.REST, Channel.EMAIL} and queued[Channel.EMAIL].recipient == "x101@example.com"

    with caplog.at_level("INFO"):
        assert main(["--database-url", db_url, "dispatch", "--once"]) == 0
    words = _words(queued[Channel.REST])
    assert words.startswith("Your pre-order of RTR-42 is delayed")
    logged = [r.getMessage() for r in caplog.records if r.name == "catalog.dispatch"]
    assert logged == [f"[rest -> rest-7] delay_notice: {words}"]
    after = {m.channel: m for m in _messages(db_url, MessageKind.DELAY_NOTICE)}
    assert after[Channel.REST].status == OutboxStatus.SENT and after[Channel.REST].sent_at
    email = after[Channel.EMAIL]
    assert (email.status, email.attempts, email.sent_at, email.claimed_by) == (OutboxStatus.PENDING, 0, None, None)
    assert outbox.pending_count(UnitOfWork(db_url)) == 1
