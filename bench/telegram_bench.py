"""Alert delivery to Telegram: throughput against a local Bot API server, and the
1,000-message run of the fault scenario (tests/telegram_faults.py).

Queues N back-in-stock alerts to M chats in a fresh SQLite outbox and delivers them
with the real sender (bot.telegram.delivery) through python-telegram-bot to
tests/fake_telegram.py. Twice: within Telegram's limits (what production does: ~30/s
in all, 1/s per chat; the limit, not the code, sets the pace), and with the limiter
opened up, which shows the sender's own capacity (outbox claims, HTTP, delivery records).
Then 1,000 alerts to 300 chats through 429s, 5xx errors, 3 blocked chats and a restart of
the dispatcher process, checked exactly once and in order per chat.

Usage: .venv/bin/python -m bench.telegram_bench [--messages 1500] [--chats 500]
"""
from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bot.telegram.delivery import TelegramDelivery
from bot.telegram.dispatch import make_bot
from bot.telegram.limits import RateLimiter
from bot.telegram.settings import TelegramSettings
from catalog.db.migrate import upgrade
from catalog.clock import utcnow
from catalog.domain.statuses import Channel, MessageKind
from catalog.services.outbox import enqueue_many, enqueue_values, pending_count
from catalog.uow import UnitOfWork
from tests.fake_telegram import FakeTelegram
from tests.telegram_faults import deliver_through_faults


def queue(url: str, messages: int, chats: int, tag: str) -> None:
    now = utcnow()
    rows = [enqueue_values(None, Channel.TELEGRAM, str(800_000 + n % chats), MessageKind.RESTOCK_ALERT,
                           {"sku": "TR-1", "product": "Trail Runner", "size": str(n % 12 + 36),
                            "held_until": "2030-01-02T15:30"}, f"{tag}:{n}", now)
            for n in range(messages)]
    with UnitOfWork(url) as uow:
        enqueue_many(uow.session, rows)
        uow.commit()


async def deliver_all(url: str, fake: FakeTelegram, limiter: RateLimiter) -> float:
    bot = make_bot(TelegramSettings(token=fake.token, api_base_url=fake.base_url), pool=128)
    async with bot:
        delivery = TelegramDelivery(bot, lambda: UnitOfWork(url), "bench", limiter=limiter, batch=500)
        start = time.perf_counter()
        while pending_count(UnitOfWork(url)):
            await delivery.deliver_once()
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1500)
    parser.add_argument("--chats", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'outbox.db'}"
        upgrade(url)
        for label, limiter, check in (
            ("within Telegram's limits (25/s in all, 1 per 1.1 s per chat)", RateLimiter(), True),
            ("limits off (the sender's own capacity)", RateLimiter(per_second=100_000, per_chat_interval=0), False),
        ):
            queue(url, args.messages, args.chats, label[:6])
            with FakeTelegram(check_limits=check) as fake:
                seconds = asyncio.run(deliver_all(url, fake, limiter))
                delivered = len(fake.sent)
                note = f", limit violations {len(fake.violations)}" if check else ""
            print(f"telegram delivery, {label}: {delivered:,} messages to {args.chats} chats in {seconds:.1f} s "
                  f"= {delivered / seconds:,.1f} messages/s{note}")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'faults.db'}"
        upgrade(url)
        outcome = deliver_through_faults(url, Path(tmp), messages=1000, chats=300)
        print(f"telegram delivery through faults (5 x 429, 4 x 502, 3 blocked chats, a restart): "
              f"{outcome.delivered:,} of 1,000 delivered exactly once and in order per chat in {outcome.seconds:.1f} s")


if __name__ == "__main__":
    main()
