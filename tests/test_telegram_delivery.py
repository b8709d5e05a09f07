"""Queued messages out to Telegram: once each, in order per chat, within Telegram's limits,
through 429s, 5xx errors, blocked chats and a restart of the dispatcher
(tests/telegram_faults.py; the 1,000-message run of the same scenario is in make bench).

python-telegram-bot talks to tests/fake_telegram.py (a local Bot API server); the
dispatcher runs as its own process (`python -m bot.telegram.dispatch`), as in production.
"""
from __future__ import annotations

import asyncio
import collections
import time

import pytest
from sqlalchemy import select

from bot.telegram.delivery import TelegramDelivery
from bot.telegram.dispatch import make_bot
from bot.telegram.limits import RateLimiter
from bot.telegram.settings import TelegramSettings
from catalog.clock import utcnow
from catalog.db.orm import OutboxMessage, RestockSubscription
from catalog.domain.statuses import Channel, MessageKind, OutboxStatus, SubscriptionStatus
from catalog.services.customers import customer_for_identity
from catalog.services.outbox import enqueue_many, enqueue_values
from catalog.services.reachability import stop_alerts
from catalog.uow import UnitOfWork
from tests.fake_telegram import FakeTelegram
from tests.telegram_faults import a_product, deliver_through_faults, queue_alerts


def test_alerts_reach_each_chat_once_in_order_within_limits_through_faults_and_a_restart(db_url, tmp_path):
    outcome = deliver_through_faults(db_url, tmp_path, messages=160, chats=40)
    assert outcome.delivered == 160 - 3 * 4  # 4 to each of the 3 chats that blocked the bot were not sent


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
        assert [m.status for m in waiting] == [OutboxStatus.PENDING, OutboxStatus.PENDING]
        assert waiting[0].attempts == 1 and waiting[0].available_at > utcnow()
        assert waiting[1].available_at >= waiting[0].available_at


def test_a_message_that_cannot_be_worded_is_given_up_and_the_chats_next_one_still_goes(sqlite_url):
    """An alert whose facts are missing can never be sent: it is marked failed with the
    reason, not retried forever, and it does not hold up the chat's later messages."""
    customer = customer_for_identity(UnitOfWork(sqlite_url), Channel.TELEGRAM, "77")
    with UnitOfWork(sqlite_url) as uow:
        enqueue_many(uow.session, [
            enqueue_values(customer, Channel.TELEGRAM, "77", MessageKind.RESTOCK_ALERT, {}, "broken", utcnow()),
            enqueue_values(customer, Channel.TELEGRAM, "77", MessageKind.DELAY_NOTICE,
                           {"sku": "RTR-42", "new_eta": "2026-03-09", "previous_eta": "2026-03-02"}, "ok", utcnow()),
        ])
        uow.commit()

    async def run() -> None:
        with FakeTelegram(check_limits=False) as fake:
            bot = make_bot(TelegramSettings(token=fake.token, api_base_url=fake.base_url))
            async with bot:
                delivery = TelegramDelivery(bot, lambda: UnitOfWork(sqlite_url), "w1",
                                            limiter=RateLimiter(per_second=100, per_chat_interval=0), retry_pause=0.01)
                stats = await delivery.deliver_once()
            assert (stats.sent, stats.given_up, stats.deferred) == (1, 1, 0)
            assert [(s.chat_id, s.text) for s in fake.sent] == [(77, (
                "Your pre-order of RTR-42 is delayed: it is now due around 9 Mar "
                "(we said 2 Mar). You can keep waiting, or cancel for a full refund."))]

    asyncio.run(run())
    with UnitOfWork(sqlite_url) as uow:
        rows = {key: (status, error) for key, status, error in uow.session.execute(
            select(OutboxMessage.dedupe_key, OutboxMessage.status, OutboxMessage.last_error))}
    assert rows["broken"][0] == OutboxStatus.FAILED and "cannot be worded" in rows["broken"][1]
    assert rows["ok"][0] == OutboxStatus.SENT


def test_stop_ends_alerts_and_drops_queued_ones_but_keeps_order_notices(sqlite_url):
    customer = customer_for_identity(UnitOfWork(sqlite_url), Channel.TELEGRAM, "555")
    product = a_product(sqlite_url)
    with UnitOfWork(sqlite_url) as uow:
        uow.session.add(RestockSubscription(customer_id=customer, product_id=product, channel=Channel.TELEGRAM,
                                            recipient="555", status=SubscriptionStatus.ACTIVE, created_at=utcnow()))
        enqueue_many(uow.session, [
            enqueue_values(customer, Channel.TELEGRAM, "555", MessageKind.RESTOCK_ALERT, {}, "a1", utcnow(), "back!"),
            enqueue_values(customer, Channel.TELEGRAM, "555", MessageKind.DELAY_NOTICE, {}, "d1", utcnow(), "later"),
        ])
        uow.commit()
    stopped = stop_alerts(UnitOfWork(sqlite_url), Channel.TELEGRAM, "555")
    assert (stopped.alerts_ended, stopped.messages_dropped) == (1, 1)
    with UnitOfWork(sqlite_url) as uow:
        statuses = dict(uow.session.execute(select(OutboxMessage.kind, OutboxMessage.status)).all())
    assert statuses == {MessageKind.RESTOCK_ALERT: OutboxStatus.FAILED, MessageKind.DELAY_NOTICE: OutboxStatus.PENDING}


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


def test_a_new_limiter_waits_one_interval_before_its_first_message():
    """A dispatcher restarted a moment after its predecessor wrote to a chat must not write to
    it again within Telegram's per-chat second: a new limiter starts by waiting."""
    now = [100.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(per_second=25, per_chat_interval=1.1, clock=lambda: now[0], sleep=sleep)
    asyncio.run(limiter.acquire("42"))
    assert sum(slept) == pytest.approx(1.1)
