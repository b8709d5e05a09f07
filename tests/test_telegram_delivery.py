"""Queued messages out to Telegram: once each, in order per chat, within Telegram's limits,
through 429s, 5xx errors, blocked chats and a restart of the dispatcher.

python-telegram-bot talks to tests/fake_telegram.py (a local Bot API server); the
dispatcher runs as its own process (`python -m bot.telegram.dispatch`), as in production.
"""
from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.telegram.delivery import TelegramDelivery
from bot.telegram.dispatch import make_bot
from bot.telegram.limits import RateLimiter
from bot.telegram.settings import TelegramSettings
from catalog.db.orm import ChannelIdentity, OutboxMessage, RestockSubscription, utcnow
from catalog.services.customers import customer_for_identity
from catalog.services.outbox import enqueue_many, enqueue_values
from catalog.services.reachability import stop_alerts
from catalog.uow import UnitOfWork
from tests.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent


def a_product(url: str) -> int:
    from catalog.importing.reader import RawRow
    from catalog.services.importing import import_raw_rows

    row = {"sku": "TG-1", "title": "Trail Runner", "description": "", "category": "Shoes > Running",
           "price": "89.99", "on_hand": "0"}
    import_raw_rows(UnitOfWork(url), [RawRow(2, row)], reference="t")
    with UnitOfWork(url) as uow:
        return uow.catalog.product_id_for_sku("TG-1")


def queue_alerts(url: str, chats: list[int], total: int, start: int = 0) -> list[str]:
    """`total` alerts spread over `chats`; bodies carry Markdown's reserved characters."""
    now = utcnow()
    rows, bodies = [], []
    for n in range(start, start + total):
        chat = chats[n % len(chats)]
        body = f"Back in stock (#{n}): Trail Runner [2.0] - size 42_EU, $89.99! Reply *reserve*."
        rows.append(enqueue_values(None, "telegram", str(chat), "restock_alert", body, {}, f"t:{n}", now))
        bodies.append(body)
    with UnitOfWork(url) as uow:
        enqueue_many(uow.session, rows)
        uow.commit()
    return bodies


def pending(url: str) -> int:
    with UnitOfWork(url) as uow:
        return uow.session.execute(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.channel == "telegram", OutboxMessage.status == "pending")).scalar_one()


def start_dispatcher(url: str, fake: FakeTelegram, log: Path) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=url, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_BASE_URL=fake.base_url,
               PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "bot.telegram.dispatch"], cwd=ROOT, env=env,
                            stdout=log.open("a"), stderr=subprocess.STDOUT)


def test_1000_alerts_to_300_chats_once_each_in_order_within_limits_through_faults_and_a_restart(db_url, tmp_path):
    chats = list(range(700_001, 700_301))
    blocked = chats[:3]
    product = a_product(db_url)
    for chat in blocked:  # known shoppers with alerts, who then block the bot
        customer = customer_for_identity(UnitOfWork(db_url), "telegram", str(chat))
        with UnitOfWork(db_url) as uow:
            uow.session.add(RestockSubscription(customer_id=customer, product_id=product, channel="telegram",
                                                recipient=str(chat), status="active", created_at=utcnow()))
            uow.commit()
    bodies = queue_alerts(db_url, chats, 1000)
    log = tmp_path / "dispatch.log"
    with FakeTelegram() as fake:
        fake.blocked_chats.update(blocked)
        fake.inject_429(times=3, retry_after=1)
        proc = start_dispatcher(db_url, fake, log)
        try:
            fake.wait_for(lambda: len(fake.sent) >= 250, timeout=120, what="250 deliveries")
            fake.inject_5xx(times=4, status=502)
            fake.inject_429(times=2, retry_after=1)
            fake.wait_for(lambda: len(fake.sent) >= 400, timeout=120, what="400 deliveries")
            proc.send_signal(signal.SIGTERM)  # a restart in the middle
            assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]
            assert 0 < pending(db_url) < 1000
            proc = start_dispatcher(db_url, fake, log)
            deadline = time.monotonic() + 180
            while pending(db_url) and time.monotonic() < deadline:
                time.sleep(0.5)
            assert pending(db_url) == 0, log.read_text()[-3000:]
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)

        delivered = [s.text for s in fake.sent]
        expected = [b for n, b in enumerate(bodies) if chats[n % len(chats)] not in blocked]
        assert collections.Counter(delivered) == collections.Counter(expected)  # each once, none lost
        assert len(delivered) == len(set(delivered)) == len(expected) == 988  # 12 were to the 3 blocked chats
        for chat in chats[3:20]:  # per-chat order kept
            seq = [int(s.text.split("#")[1].split(")")[0]) for s in fake.messages_to(chat)]
            assert seq == sorted(seq) and seq
        assert fake.violations == []  # never over 30/s in all nor 1/s per chat
        kinds = collections.Counter(kind for _, _, kind in fake.rejected)
        assert kinds["429"] == 5 and kinds["5xx"] == 4 and kinds["403"] == 3  # the faults were really met
        assert all(s.params.get("parse_mode") == "MarkdownV2" for s in fake.sent)

    with UnitOfWork(db_url) as uow:
        sent_rows = uow.session.execute(select(OutboxMessage).where(OutboxMessage.status == "sent")).scalars().all()
        assert len(sent_rows) == 988 and all(r.external_id for r in sent_rows)  # the delivery record
        unreachable = uow.session.execute(select(ChannelIdentity.external_id).where(
            ChannelIdentity.unreachable_at.is_not(None))).scalars().all()
        assert sorted(unreachable) == sorted(str(c) for c in blocked)
        assert not uow.session.execute(select(RestockSubscription).where(
            RestockSubscription.status == "active")).scalars().all()  # alerts to blocked chats stopped


def test_a_message_telegram_keeps_failing_waits_and_later_ones_to_that_chat_wait_behind_it(sqlite_url):
    queue_alerts(sqlite_url, [42, 43], 4)  # 0 and 2 to chat 42, 1 and 3 to chat 43

    async def run() -> None:
        with FakeTelegram(check_limits=False) as fake:
            fake.inject_5xx(times=5, status=500, chat_id=42)  # first message: 1 try + 4 retries, all failing
            bot = make_bot(TelegramSettings(token=fake.token, api_base_url=fake.base_url))
            async with bot:
                delivery = TelegramDelivery(bot, lambda: UnitOfWork(sqlite_url), "w1",
                                            limiter=RateLimiter(per_second=100, per_chat_interval=0), retry_pause=0.01)
                stats = await delivery.deliver_once()
            assert stats.sent == 2 and stats.deferred == 2
            sent_to = {s.chat_id for s in fake.sent}
            assert sent_to == {43}  # chat 43 got both; chat 42's second waits behind its first

    asyncio.run(run())
    with UnitOfWork(sqlite_url) as uow:
        waiting = uow.session.execute(select(OutboxMessage).where(OutboxMessage.recipient == "42")).scalars().all()
        assert [m.status for m in waiting] == ["pending", "pending"]
        assert waiting[0].attempts == 1 and waiting[0].available_at > utcnow()
        assert waiting[1].available_at >= waiting[0].available_at


def test_stop_ends_alerts_and_drops_queued_ones_but_keeps_order_notices(sqlite_url):
    customer = customer_for_identity(UnitOfWork(sqlite_url), "telegram", "555")
    product = a_product(sqlite_url)
    with UnitOfWork(sqlite_url) as uow:
        uow.session.add(RestockSubscription(customer_id=customer, product_id=product, channel="telegram",
                                            recipient="555", status="active", created_at=utcnow()))
        enqueue_many(uow.session, [
            enqueue_values(customer, "telegram", "555", "restock_alert", "back!", {}, "a1", utcnow()),
            enqueue_values(customer, "telegram", "555", "delay_notice", "later", {}, "d1", utcnow()),
        ])
        uow.commit()
    stopped = stop_alerts(UnitOfWork(sqlite_url), "telegram", "555")
    assert (stopped.alerts_ended, stopped.messages_dropped) == (1, 1)
    with UnitOfWork(sqlite_url) as uow:
        statuses = dict(uow.session.execute(select(OutboxMessage.kind, OutboxMessage.status)).all())
    assert statuses == {"restock_alert": "failed", "delay_notice": "pending"}


@pytest.mark.parametrize("per_second,interval", [(25, 1.1)])
def test_rate_limiter_spaces_one_chat_and_caps_the_total(per_second, interval):
    async def run() -> tuple[list[float], list[float]]:
        limiter = RateLimiter(per_second=per_second, per_chat_interval=interval)
        stamps: dict[str, list[float]] = collections.defaultdict(list)

        async def send(chat: str) -> None:
            await limiter.acquire(chat)
            stamps[chat].append(time.monotonic())

        await asyncio.gather(*(send(f"c{i % 40}") for i in range(80)), *(send("solo") for _ in range(3)))
        everything = sorted(t for ts in stamps.values() for t in ts)
        return stamps["solo"], everything

    solo, everything = asyncio.run(run())
    assert all(b - a >= interval - 0.01 for a, b in zip(solo, solo[1:]))
    for i, t in enumerate(everything):  # no window of one second holds more than per_second sends
        assert sum(1 for u in everything[i:] if u - t < 1.0) <= per_second
