"""Queued messages (back-in-stock alerts, delay notices, staff replies) out to Telegram.

Claiming, per-chat order and delivery records are bot/outbox_delivery.py's (shared with
the web sender); each delivery is recorded with Telegram's message id. Chats are served
in parallel, within Telegram's limits (bot/telegram/limits.py).

How failures are treated:
- 429: Telegram's retry_after pauses all sending, then the same message is retried;
- network errors and 5xx: retried with growing pauses; after a few, the message waits
  in the outbox (later messages to that chat wait behind it, keeping the order);
- 403 (the chat blocked the bot): the chat is marked unreachable, its alerts end;
- 400 (e.g. the chat does not exist): that message is given up, the rest go on.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.helpers import escape_markdown

from bot.outbox_delivery import LEASE, OrderedDelivery, Sent, SendResult
from bot.telegram.limits import RateLimiter
from catalog.domain.statuses import Channel
from catalog.services.outbox import OutgoingMessage
from catalog.services.reachability import mark_unreachable
from catalog.uow import UnitOfWork

log = logging.getLogger(__name__)
MAX_TRANSIENT_RETRIES = 4  # per message per batch, with pauses of 0.5, 1, 2, 4 s
MAX_FLOOD_WAITS = 20  # 429s for one message before it goes back to the queue


def seconds(value: int | float | dt.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


class TelegramDelivery(OrderedDelivery):
    channel = Channel.TELEGRAM

    def __init__(self, bot: Bot, uow_factory: Callable[[], UnitOfWork], worker_id: str,
                 limiter: RateLimiter | None = None, batch: int = 300,
                 lease: dt.timedelta = LEASE, retry_pause: float = 0.5) -> None:
        super().__init__(uow_factory, worker_id, batch, lease)
        self.bot = bot
        self.limiter = limiter or RateLimiter()
        self.retry_pause = retry_pause

    async def on_blocked(self, recipient: str) -> None:
        await asyncio.to_thread(mark_unreachable, self.uow_factory(), self.channel, recipient)

    async def send(self, message: OutgoingMessage, text: str) -> SendResult:
        """One message through the limiter, with retries (the detail: Telegram's id or the error)."""
        transient = floods = 0
        while True:
            await self.limiter.acquire(message.recipient)
            try:
                sent = await self._call(message, text)
                return SendResult(Sent.SENT, str(sent.message_id))
            except RetryAfter as exc:
                floods += 1
                self.limiter.pause(seconds(exc.retry_after))
                if floods > MAX_FLOOD_WAITS:
                    return SendResult(Sent.FAILING, str(exc))
            except Forbidden as exc:
                log.info("telegram chat %s blocked the bot: %s", message.recipient, exc)
                return SendResult(Sent.BLOCKED, str(exc))
            except BadRequest as exc:  # a subclass of NetworkError: check it first
                return SendResult(Sent.REJECTED, str(exc))
            except (TimedOut, NetworkError) as exc:
                transient += 1
                if transient > MAX_TRANSIENT_RETRIES:
                    return SendResult(Sent.FAILING, str(exc))
                await asyncio.sleep(self.retry_pause * 2 ** (transient - 1))

    async def _call(self, message: OutgoingMessage, words: str):
        text = escape_markdown(words, version=2)
        image = (message.payload or {}).get("image_url")
        if image:
            try:
                return await self.bot.send_photo(message.recipient, image, caption=text[:1024],
                                                 parse_mode=ParseMode.MARKDOWN_V2)
            except BadRequest:  # Telegram could not fetch the picture: the words still go
                pass
        return await self.bot.send_message(message.recipient, text[:4096], parse_mode=ParseMode.MARKDOWN_V2)
