"""One channel's queued messages out to their recipients, each recipient's in order.

The mechanism the Telegram and web senders share; each says only how one message is
sent (`send`) and what a recipient that refuses everything means (`on_blocked`).

A batch of the channel's outbox rows is claimed; recipients are served in parallel and
each recipient's messages in order; each delivery is recorded the moment the channel
accepts it. So a restart sends nothing twice (delivered rows are no longer pending) and
loses nothing (undelivered rows stay pending; a stopping worker gives its claims back, a
crashed one's claims expire). The one window left is a crash between the channel's
answer and that record: the message goes again once its claim expires.

What `send` returns (`Sent`): SENT (with the channel's id for the message, if any);
REJECTED (never deliverable: given up, the recipient's next messages go on); FAILING
(still failing after retries: it waits in the outbox and the recipient's later messages
wait behind it, keeping the order); BLOCKED (the recipient refuses everything).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import enum
import logging
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.logs import configure as configure_logging
from catalog.clock import utcnow
from catalog.services.outbox import OutgoingMessage, claim, mark_sent, record_failure, release
from catalog.uow import UnitOfWork
from catalog.wording.notices import notice_text

log = logging.getLogger(__name__)


def sender_options(channel: str, description: str, batch: int, argv: list[str] | None) -> tuple[int, str]:
    """A sender process's command line (`--batch`, `--worker-id`), logging set up:
    (batch size, worker id; by default the channel, host and process)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--batch", type=int, default=batch)
    parser.add_argument("--worker-id", default=None)
    args = parser.parse_args(argv)
    configure_logging()
    return max(1, args.batch), args.worker_id or f"{channel}:{socket.gethostname()}:{os.getpid()}"


class Sent(enum.Enum):
    SENT = "sent"
    REJECTED = "rejected"
    FAILING = "failing"
    BLOCKED = "blocked"


@dataclass(frozen=True)
class SendResult:
    outcome: Sent
    detail: str | None = None  # the channel's id for a sent message, else what went wrong


@dataclass
class DeliveryStats:
    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    given_up: int = 0
    unreachable: list[str] = field(default_factory=list)


LEASE = dt.timedelta(minutes=2)  # how long a claimed message is a sender's before another may take it


class OrderedDelivery:
    channel = ""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], worker_id: str, batch: int,
                 lease: dt.timedelta = LEASE, parallel: int | None = None) -> None:
        self.uow_factory = uow_factory
        self.worker_id = worker_id
        self.batch = batch
        self.lease = lease
        self._parallel = asyncio.Semaphore(parallel) if parallel else None
        self.stopping = asyncio.Event()

    async def send(self, message: OutgoingMessage, text: str) -> SendResult:
        """Send `text`, the message's words (catalog.wording.notices)."""
        raise NotImplementedError

    async def on_blocked(self, recipient: str) -> None:
        """The recipient refuses everything (by default: nothing more to do)."""

    async def aclose(self) -> None:
        """Release what the sender holds (connections); called when `run` ends."""

    async def run_until_signalled(self) -> None:
        """`run`, stopped cleanly by SIGTERM or Ctrl-C (the entry points' way to run)."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        await self.run()
        log.info("%s delivery stopped", self.channel)

    async def run(self, idle: float = 1.0) -> None:
        """Deliver until `stopping` is set; what is claimed but unsent is given back."""
        try:
            while not self.stopping.is_set():
                try:
                    stats = await self.deliver_once()
                except Exception:  # the database may be briefly unavailable: try again shortly
                    log.exception("%s delivery round failed", self.channel)
                    stats = DeliveryStats()
                if not stats.claimed:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self.stopping.wait(), timeout=idle)
        finally:
            await self.aclose()

    async def deliver_once(self) -> DeliveryStats:
        messages = await asyncio.to_thread(claim, self.uow_factory(), self.worker_id, self.batch, utcnow(),
                                           self.lease, [self.channel])
        stats = DeliveryStats(claimed=len(messages))
        by_recipient: dict[str, list[OutgoingMessage]] = {}
        for m in messages:
            by_recipient.setdefault(m.recipient, []).append(m)
        await asyncio.gather(*(self._deliver_to(recipient, queue, stats) for recipient, queue in by_recipient.items()))
        return stats

    async def _deliver_to(self, recipient: str, queue: list[OutgoingMessage], stats: DeliveryStats) -> None:
        async with self._parallel or contextlib.nullcontext():
            for i, message in enumerate(queue):
                rest = [m.id for m in queue[i + 1:]]
                if self.stopping.is_set():
                    await asyncio.to_thread(release, self.uow_factory(), [m.id for m in queue[i:]], self.worker_id)
                    return
                try:
                    text = notice_text(message.kind, message.payload, message.body)
                except (KeyError, TypeError, ValueError) as exc:  # facts that cannot be worded never will be
                    result = SendResult(Sent.REJECTED, f"cannot be worded: {type(exc).__name__}: {exc}")
                else:
                    result = await self.send(message, text)
                outcome, detail = result.outcome, result.detail
                if outcome is Sent.SENT:
                    await asyncio.to_thread(mark_sent, self.uow_factory(), message.id, self.worker_id, detail)
                    stats.sent += 1
                elif outcome is Sent.BLOCKED:
                    await self.on_blocked(recipient)
                    stats.unreachable.append(recipient)
                    stats.given_up += 1 + len(rest)
                    return
                elif outcome is Sent.REJECTED:
                    log.warning("%s message %s given up: %s", self.channel, message.id, detail)
                    await asyncio.to_thread(record_failure, self.uow_factory(), message, self.worker_id,
                                            detail or "", utcnow(), True)
                    stats.given_up += 1
                else:  # still failing: this one waits in the outbox, and the recipient's later ones behind it
                    log.warning("%s message %s deferred: %s", self.channel, message.id, detail)
                    due = await asyncio.to_thread(record_failure, self.uow_factory(), message, self.worker_id,
                                                  detail or "", utcnow())
                    await asyncio.to_thread(release, self.uow_factory(), rest, self.worker_id, due)
                    stats.deferred += 1 + len(rest)
                    return
