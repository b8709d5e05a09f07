"""`python -m bot.telegram.dispatch`: send queued Telegram messages until stopped.

SIGTERM or Ctrl-C stops it cleanly: the message being sent finishes and is recorded,
claimed messages not yet sent are given back, so the next run (or another worker)
sends them, and nothing is sent twice.
"""
from __future__ import annotations

import asyncio
import sys

from telegram import Bot
from telegram.request import HTTPXRequest

from bot.outbox_delivery import sender_options
from bot.telegram.delivery import TelegramDelivery
from bot.telegram.settings import TelegramSettings
from catalog.config import database_url
from catalog.domain.statuses import Channel
from catalog.uow import UnitOfWork


def make_bot(settings: TelegramSettings, pool: int = 64) -> Bot:
    return Bot(settings.token, base_url=settings.api_base_url,
               request=HTTPXRequest(connection_pool_size=pool, read_timeout=15, connect_timeout=10))


async def serve(settings: TelegramSettings, url: str, worker_id: str, batch: int) -> int:
    bot = make_bot(settings)
    delivery = TelegramDelivery(bot, lambda: UnitOfWork(url), worker_id, batch=batch)
    async with bot:
        await delivery.run_until_signalled()
    return 0


def main(argv: list[str] | None = None) -> int:
    batch, worker = sender_options(Channel.TELEGRAM, "Deliver queued messages to Telegram", 300, argv)
    settings = TelegramSettings.from_env()
    if not settings.enabled:
        print("Telegram is off (no TELEGRAM_BOT_TOKEN): nothing to deliver", file=sys.stderr)
        return 0
    return asyncio.run(serve(settings, database_url(), worker, batch))


if __name__ == "__main__":
    sys.exit(main())
