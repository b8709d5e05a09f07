"""Restock alerts (first come, one per unit, once each), holds, delay notices, and the outbox."""
from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

from sqlalchemy import select

from catalog.db.orm import OutboxMessage
from catalog.services import alerts, outbox, purchasing, reservations as res
from catalog.services.outbox import LogDispatcher, dispatch_once, enqueue_many, enqueue_values
from catalog.uow import UnitOfWork
from tests.conftest import TODAY
from tests.world import build, more_customers

NOW = dt.datetime(2026, 11, 27, 14, 0)


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


def test_receiving_alerts_only_as_many_as_units_first_come_and_holds_them(db_url):
    world = build(db_url, incoming=3)
    subs = more_customers(db_url, 5)
    for cid in subs:
        alerts.subscribe(UnitOfWork(db_url), cid, "telegram", f"tg-{cid}", product_id=world.product_id)
    report = purchasing.receive_purchase_order(UnitOfWork(db_url), "PO-1001", now=NOW)
    assert report.alerts_queued == 3
    sent = _messages(db_url, "restock_alert")
    assert [m.customer_id for m in sent] == subs[:3]
    assert "held for you until 18:00" in sent[0].body
    with UnitOfWork(db_url) as uow:
        assert uow.promises.available([world.variant_id], NOW)[world.variant_id] == 0  # held units are not for sale
    # Holds expire: the next subscribers get the units, and nobody is alerted twice.
    expired, again = alerts.expire_holds(UnitOfWork(db_url), now=NOW + dt.timedelta(hours=5))
    assert expired == 3 and again.alerts_queued == 2
    assert Counter(m.customer_id for m in _messages(db_url, "restock_alert")) == Counter(subs)
    _, third = alerts.expire_holds(UnitOfWork(db_url), now=NOW + dt.timedelta(hours=10))
    assert third.alerts_queued == 0


def test_import_that_raises_on_hand_serves_backorders_then_alerts(db_url, tmp_path):
    from catalog.services.importing import import_file
    from tests.conftest import write_csv

    header = ["sku", "title", "description", "category", "price", "on_hand", "backorder_allowed"]
    import_file(UnitOfWork(db_url), write_csv(tmp_path / "a.csv", header, [["IMP-1", "Mug", "", "Kitchen", "9.00", "0", "true"]]))
    c1, c2, c3 = more_customers(db_url, 3)
    assert res.reserve(UnitOfWork(db_url), c1, "IMP-1", 1, res.Kind.BACKORDER, today=TODAY).outcome is res.Outcome.RESERVED
    alerts.subscribe(UnitOfWork(db_url), c2, "web", "w2", sku="IMP-1")
    alerts.subscribe(UnitOfWork(db_url), c3, "web", "w3", sku="IMP-1")
    report = import_file(UnitOfWork(db_url), write_csv(tmp_path / "b.csv", header, [["IMP-1", "Mug", "", "Kitchen", "9.00", "2", "true"]]))
    assert report.restocked_variant_ids
    assert [r.status for r in res.list_reservations(UnitOfWork(db_url), c1)] == ["allocated"]
    assert [m.customer_id for m in _messages(db_url, "restock_alert")] == [c2]  # 2 units: backorder, then c2


def test_delay_notice_for_each_reservation_told_an_earlier_date(db_url):
    world = build(db_url, incoming=10)
    a, b, _ = world.customers
    res.reserve(UnitOfWork(db_url), a, "RTR-42", 1, today=TODAY)
    res.reserve(UnitOfWork(db_url), b, "RTR-42", 1, today=TODAY)
    later = dt.date(2026, 12, 20)
    report = purchasing.set_eta(UnitOfWork(db_url), "PO-1001", later)
    assert report.notices_queued == 2
    notices = _messages(db_url, "delay_notice")
    assert {m.customer_id for m in notices} == {a, b}
    assert "20 Dec" in notices[0].body and "cancel" in notices[0].body and "full refund" in notices[0].body
    assert notices[0].payload["choices"] == ["wait", "cancel_full_refund"]
    assert purchasing.set_eta(UnitOfWork(db_url), "PO-1001", later).notices_queued == 0  # told already
    assert purchasing.set_eta(UnitOfWork(db_url), "PO-1001", dt.date(2026, 12, 15)).notices_queued == 0  # earlier: good news
    assert [v.expected for v in res.list_reservations(UnitOfWork(db_url), a)] == [dt.date(2026, 12, 15)]


def test_two_dispatchers_send_each_of_200_messages_exactly_once(db_url):
    with UnitOfWork(db_url) as uow:
        enqueue_many(uow.session, [enqueue_values(None, "log", f"r{i}", "test", f"m{i}", {}, f"k{i}", NOW)
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
    assert all(m.status == "sent" and m.sent_at for m in _messages(db_url))


def test_failed_sends_are_retried_later_and_dedupe_key_blocks_duplicates(db_url):
    with UnitOfWork(db_url) as uow:
        rows = [enqueue_values(None, "log", "r", "test", f"m{i}", {}, f"same-{i % 2}", NOW) for i in range(4)]
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
        enqueue_many(uow.session, [enqueue_values(None, "log", "r1", "test", "hello there", {}, "k", NOW)])
        uow.commit()
    with caplog.at_level("INFO"):
        assert dispatch_once(UnitOfWork(db_url), LogDispatcher(), "w", now=NOW).sent == 1
    assert "hello there" in caplog.text
