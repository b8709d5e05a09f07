"""Queued messages (back-in-stock alerts, delay notices) out to shoppers on the website.

Outbox rows of the `socketio` channel have the widget's session id as recipient (the
actions record `tracker.sender_id`, which the socket.io channel sets to that id). Each
message is appended to that conversation through Rasa's HTTP API (bot/web/relay.py):
Rasa keeps it in the conversation and emits it to the widgets open on that session; a
widget opened later picks it up from the conversation's history.

Claiming, per-session order and delivery records are bot/outbox_delivery.py's (shared
with the Telegram sender); sessions are served a few at a time. A message appended again
after a crash (the one window that mechanism leaves) is shown once: the widget drops an
`outbox_id` it already has.

Failures: Rasa unreachable, 5xx, 409 (no model yet), 401/403 (token): retried with growing
pauses, then the message waits in the outbox with the session's later messages behind it.
Any other refusal (4xx, a recipient that is not a session id) gives that message up.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

import httpx

from bot.outbox_delivery import OrderedDelivery, Outcome
from bot.web.relay import TIMEOUT, RelayError, post_bot_event
from bot.web.settings import WebSettings
from catalog.services.outbox import OutgoingMessage
from catalog.uow import UnitOfWork

log = logging.getLogger(__name__)
MAX_TRANSIENT_RETRIES = 3  # per message per batch, with pauses of 0.5, 1, 2 s


class WebDelivery(OrderedDelivery):
    channel = "socketio"

    def __init__(self, settings: WebSettings, uow_factory: Callable[[], UnitOfWork], worker_id: str,
                 client: httpx.AsyncClient | None = None, batch: int = 200,
                 lease: dt.timedelta = dt.timedelta(minutes=2), retry_pause: float = 0.5,
                 parallel: int = 8) -> None:
        # sessions sent to at once: Rasa has 2 cores too
        super().__init__(uow_factory, worker_id, batch, lease, parallel)
        self.settings = settings
        self.client = client
        self._own_client = client is None
        self.retry_pause = retry_pause

    async def aclose(self) -> None:
        if self._own_client and self.client is not None:
            await self.client.aclose()
            self.client = None

    async def send(self, message: OutgoingMessage) -> Outcome:
        """One message, with retries: (outcome, error)."""
        if self.client is None:
            self.client = httpx.AsyncClient(timeout=TIMEOUT)
        metadata = {"kind": message.kind, "outbox_id": message.id}
        transient = 0
        while True:
            try:
                await post_bot_event(self.client, self.settings, message.recipient, message.body, metadata)
                return "sent", None
            except RelayError as exc:
                if not exc.transient:
                    return "rejected", str(exc)
                transient += 1
                if transient > MAX_TRANSIENT_RETRIES or self.stopping.is_set():
                    return "failing", str(exc)
                await asyncio.sleep(self.retry_pause * 2 ** (transient - 1))
