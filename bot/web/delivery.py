"""Queued messages (back-in-stock alerts, delay notices) out to shoppers on the website.

Outbox rows of the `socketio` channel have the widget's session id as recipient (the
actions record `tracker.sender_id`, which the socket.io channel sets to that id). Each
message is appended to that conversation through Rasa's HTTP API (bot/web/relay.py):
Rasa keeps it in the conversation and emits it to the widgets open on that session; a
widget opened later picks it up from the conversation's history.

Like the Telegram sender: a batch is claimed, each session's messages go out in order
(sessions in parallel, a few at a time), and each delivery is recorded the moment Rasa
accepts it. A restart sends nothing twice (delivered rows are no longer pending) and loses
nothing (a stopping worker gives its claims back, a crashed one's claims expire). The one
window left is a crash between Rasa's answer and that record: the message is appended
again once the claim expires; the widget shows it once (it drops an `outbox_id` it has).

Failures: Rasa unreachable, 5xx, 409 (no model yet), 401/403 (token): retried with growing
pauses, then the message waits in the outbox with the session's later messages behind it.
Any other refusal (4xx, a recipient that is not a session id) gives that message up.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from bot.web.relay import TIMEOUT, RelayError, post_bot_event
from bot.web.settings import WebSettings
from catalog.db.orm import utcnow
from catalog.services.outbox import OutgoingMessage, claim, mark_sent, record_failure, release
from catalog.uow import UnitOfWork

log = logging.getLogger(__name__)
CHANNEL = "socketio"
MAX_TRANSIENT_RETRIES = 3  # per message per batch, with pauses of 0.5, 1, 2 s


@dataclass
class DeliveryStats:
    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    given_up: int = 0


class WebDelivery:
    def __init__(self, settings: WebSettings, uow_factory: Callable[[], UnitOfWork], worker_id: str,
                 client: httpx.AsyncClient | None = None, batch: int = 200,
                 lease: dt.timedelta = dt.timedelta(minutes=2), retry_pause: float = 0.5,
                 parallel: int = 8) -> None:
        self.settings = settings
        self.uow_factory = uow_factory
        self.worker_id = worker_id
        self.client = client
        self._own_client = client is None
        self.batch = batch
        self.lease = lease
        self.retry_pause = retry_pause
        self.parallel = asyncio.Semaphore(parallel)  # sessions sent to at once: Rasa has 2 cores too
        self.stopping = asyncio.Event()

    async def run(self, idle: float = 1.0) -> None:
        """Deliver until `stopping` is set; what is claimed but unsent is given back."""
        try:
            while not self.stopping.is_set():
                try:
                    stats = await self.deliver_once()
                except Exception:  # the database may be briefly unavailable: try again shortly
                    log.exception("web delivery round failed")
                    stats = DeliveryStats()
                if not stats.claimed:
                    try:
                        await asyncio.wait_for(self.stopping.wait(), timeout=idle)
                    except asyncio.TimeoutError:
                        pass
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        if self._own_client and self.client is not None:
            await self.client.aclose()
            self.client = None

    async def deliver_once(self) -> DeliveryStats:
        messages = await asyncio.to_thread(claim, self.uow_factory(), self.worker_id, self.batch, utcnow(),
                                           self.lease, [CHANNEL])
        stats = DeliveryStats(claimed=len(messages))
        by_session: dict[str, list[OutgoingMessage]] = {}
        for m in messages:
            by_session.setdefault(m.recipient, []).append(m)
        if messages and self.client is None:
            self.client = httpx.AsyncClient(timeout=TIMEOUT)
        await asyncio.gather(*(self._deliver_session(queue, stats) for queue in by_session.values()))
        return stats

    async def _deliver_session(self, queue: list[OutgoingMessage], stats: DeliveryStats) -> None:
        async with self.parallel:
            for i, message in enumerate(queue):
                rest = [m.id for m in queue[i + 1:]]
                if self.stopping.is_set():
                    await asyncio.to_thread(release, self.uow_factory(), [m.id for m in queue[i:]], self.worker_id)
                    return
                outcome, detail = await self._send(message)
                if outcome == "sent":
                    await asyncio.to_thread(mark_sent, self.uow_factory(), message.id, self.worker_id)
                    stats.sent += 1
                elif outcome == "rejected":
                    log.warning("web message %s given up: %s", message.id, detail)
                    await asyncio.to_thread(record_failure, self.uow_factory(), message, self.worker_id, detail,
                                            utcnow(), True)
                    stats.given_up += 1
                else:  # still failing: this one waits in the outbox, and the session's later ones behind it
                    log.warning("web message %s deferred: %s", message.id, detail)
                    now = utcnow()
                    await asyncio.to_thread(record_failure, self.uow_factory(), message, self.worker_id, detail, now)
                    await asyncio.to_thread(release, self.uow_factory(), rest, self.worker_id,
                                            now + dt.timedelta(seconds=30 * 2 ** (message.attempts + 1)))
                    stats.deferred += 1 + len(rest)
                    return

    async def _send(self, message: OutgoingMessage) -> tuple[str, str]:
        """One message, with retries: (outcome, error)."""
        metadata = {"kind": message.kind, "outbox_id": message.id}
        transient = 0
        while True:
            try:
                await post_bot_event(self.client, self.settings, message.recipient, message.body, metadata)
                return "sent", ""
            except RelayError as exc:
                if not exc.transient:
                    return "rejected", str(exc)
                transient += 1
                if transient > MAX_TRANSIENT_RETRIES or self.stopping.is_set():
                    return "failing", str(exc)
                await asyncio.sleep(self.retry_pause * 2 ** (transient - 1))
