"""Queued messages (back-in-stock alerts, delay notices, staff replies) out to Telegram.

The outbox rows are the record: a batch is claimed, each chat's messages go out in
order (chats in parallel, within Telegram's limits), and each delivery is written down
the moment Telegram accepts it, with Telegram's message id. So a restart sends nothing
twice (delivered rows are no longer pending) and loses nothing (undelivered rows stay
pending; a stopping worker gives its claims back, a crashed one's claims expire).
The one window left is a crash between Telegram's answer and that write: the message
is sent again after the claim expires (at-least-once, never silently lost).

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
from dataclasses import dataclass, field

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.helpers import escape_markdown

from bot.telegram.limits import RateLimiter
from catalog.db.orm import utcnow
from catalog.services.outbox import OutgoingMessage, claim, mark_sent, record_failure, release
from catalog.services.reachability import mark_unreachable
from catalog.uow import UnitOfWork

log = logging.getLogger(__name__)
CHANNEL = "telegram"
MAX_TRANSIENT_RETRIES = 4  # per message per batch, with pauses of 0.5, 1, 2, 4 s
MAX_FLOOD_WAITS = 20  # 429s for one message before it goes back to the queue


@dataclass
class DeliveryStats:
    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    given_up: int = 0
    unreachable_chats: list[str] = field(default_factory=list)


def seconds(value: int | float | dt.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


class TelegramDelivery:
    def __init__(self, bot: Bot, uow_factory: Callable[[], UnitOfWork], worker_id: str,
                 limiter: RateLimiter | None = None, batch: int = 300,
                 lease: dt.timedelta = dt.timedelta(minutes=2), retry_pause: float = 0.5) -> None:
        self.bot = bot
        self.uow_factory = uow_factory
        self.worker_id = worker_id
        self.limiter = limiter or RateLimiter()
        self.batch = batch
        self.lease = lease
        self.retry_pause = retry_pause
        self.stopping = asyncio.Event()

    async def run(self, idle: float = 1.0) -> None:
        """Deliver until `stopping` is set; what is claimed but unsent is given back."""
        while not self.stopping.is_set():
            try:
                stats = await self.deliver_once()
            except Exception:  # the database may be briefly unavailable: try again shortly
                log.exception("telegram delivery round failed")
                stats = DeliveryStats()
            if not stats.claimed:
                try:
                    await asyncio.wait_for(self.stopping.wait(), timeout=idle)
                except asyncio.TimeoutError:
                    pass

    async def deliver_once(self) -> DeliveryStats:
        messages = await asyncio.to_thread(claim, self.uow_factory(), self.worker_id, self.batch, utcnow(),
                                           self.lease, [CHANNEL])
        stats = DeliveryStats(claimed=len(messages))
        by_chat: dict[str, list[OutgoingMessage]] = {}
        for m in messages:
            by_chat.setdefault(m.recipient, []).append(m)
        await asyncio.gather(*(self._deliver_chat(chat, queue, stats) for chat, queue in by_chat.items()))
        return stats

    async def _deliver_chat(self, chat: str, queue: list[OutgoingMessage], stats: DeliveryStats) -> None:
        for i, message in enumerate(queue):
            rest = [m.id for m in queue[i + 1:]]
            if self.stopping.is_set():
                await asyncio.to_thread(release, self.uow_factory(), [m.id for m in queue[i:]], self.worker_id)
                return
            outcome, detail = await self._send(message)
            if outcome == "sent":
                await asyncio.to_thread(mark_sent, self.uow_factory(), message.id, self.worker_id, detail)
                stats.sent += 1
            elif outcome == "blocked":
                await asyncio.to_thread(mark_unreachable, self.uow_factory(), CHANNEL, chat)
                stats.unreachable_chats.append(chat)
                stats.given_up += 1 + len(rest)
                return
            elif outcome == "rejected":
                await asyncio.to_thread(record_failure, self.uow_factory(), message, self.worker_id, detail,
                                        utcnow(), True)
                stats.given_up += 1
            else:  # still failing: this one waits in the outbox, and the chat's later ones behind it
                now = utcnow()
                await asyncio.to_thread(record_failure, self.uow_factory(), message, self.worker_id, detail, now)
                await asyncio.to_thread(release, self.uow_factory(), rest, self.worker_id,
                                        now + dt.timedelta(seconds=30 * 2 ** (message.attempts + 1)))
                stats.deferred += 1 + len(rest)
                return

    async def _send(self, message: OutgoingMessage) -> tuple[str, str | None]:
        """One message through the limiter, with retries: (outcome, Telegram id or error)."""
        transient = floods = 0
        while True:
            await self.limiter.acquire(message.recipient)
            try:
                sent = await self._call(message)
                return "sent", str(sent.message_id)
            except RetryAfter as exc:
                floods += 1
                self.limiter.pause(seconds(exc.retry_after))
                if floods > MAX_FLOOD_WAITS:
                    return "failing", str(exc)
            except Forbidden as exc:
                log.info("telegram chat %s blocked the bot: %s", message.recipient, exc)
                return "blocked", str(exc)
            except BadRequest as exc:  # a subclass of NetworkError: check it first
                log.warning("telegram refused message %s: %s", message.id, exc)
                return "rejected", str(exc)
            except (TimedOut, NetworkError) as exc:
                transient += 1
                if transient > MAX_TRANSIENT_RETRIES:
                    return "failing", str(exc)
                await asyncio.sleep(self.retry_pause * 2 ** (transient - 1))

    async def _call(self, message: OutgoingMessage):
        text = escape_markdown(message.body, version=2)
        image = (message.payload or {}).get("image_url")
        if image:
            try:
                return await self.bot.send_photo(message.recipient, image, caption=text[:1024],
                                                 parse_mode=ParseMode.MARKDOWN_V2)
            except BadRequest:  # Telegram could not fetch the picture: the words still go
                pass
        return await self.bot.send_message(message.recipient, text[:4096], parse_mode=ParseMode.MARKDOWN_V2)
