"""Queued messages (back-in-stock alerts, delay notices) out to shoppers on the website.

Outbox rows of the `socketio` channel have the widget's session id as recipient (the
actions record `tracker.sender_id`, which the socket.io channel sets to that id). Each
message is appended to that conversation through Rasa's HTTP API (bot/rasa_api.py):
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

from bot.outbox_delivery import LEASE, OrderedDelivery, Sent, SendResult
from bot.rasa_api import TIMEOUT, WEB_CHANNEL, RasaApi, RasaError
from bot.web.settings import WebSettings
from catalog.services.outbox import OutgoingMessage
from catalog.uow import UnitOfWork

log = logging.getLogger(__name__)
MAX_TRANSIENT_RETRIES = 3  # per message per batch, with pauses of 0.5, 1, 2 s


class WebDelivery(OrderedDelivery):
    channel = WEB_CHANNEL

    def __init__(self, settings: WebSettings, uow_factory: Callable[[], UnitOfWork], worker_id: str,
                 batch: int = 200, lease: dt.timedelta = LEASE, retry_pause: float = 0.5,
                 parallel: int = 8) -> None:
        # sessions sent to at once: Rasa has 2 cores too
        super().__init__(uow_factory, worker_id, batch, lease, parallel)
        self.settings = settings
        self.retry_pause = retry_pause
        self._rasa: RasaApi | None = None  # one connection pool, opened on the delivery's event loop

    async def aclose(self) -> None:
        if self._rasa is not None:
            await self._rasa.client.aclose()
            self._rasa = None

    async def send(self, message: OutgoingMessage, text: str) -> SendResult:
        """One message, with retries."""
        if self._rasa is None:
            self._rasa = RasaApi(self.settings.rasa_url, self.settings.rasa_token, httpx.AsyncClient(timeout=TIMEOUT))
        metadata = {"kind": message.kind, "outbox_id": message.id}
        transient = 0
        while True:
            try:
                await self._rasa.send_to_widget(message.recipient, text, metadata)
                return SendResult(Sent.SENT)
            except RasaError as exc:
                if not exc.transient:
                    return SendResult(Sent.REJECTED, str(exc))
                transient += 1
                if transient > MAX_TRANSIENT_RETRIES or self.stopping.is_set():
                    return SendResult(Sent.FAILING, str(exc))
                await asyncio.sleep(self.retry_pause * 2 ** (transient - 1))
