"""A staff member's message reaches the customer on the channel they are using.

- web widget (`socketio`): appended to the conversation with the socket.io output channel
  (bot/rasa_api.py, `send_to_widget`), so Rasa pushes it to the open widget and keeps it
  in the transcript;
- Telegram: a `staff_reply` row in the outbox (sent by bot/telegram/dispatch.py, in order
  with the chat's other queued messages), and the bot event appended to the tracker so
  the transcript shows it;
- REST and anything else: the bot event appended to the tracker (a REST client reads it
  there; the channel has no way to push).

Each reply carries a key from the form that was submitted, so a double click or a retried
request delivers it once.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.rasa_api import WEB_CHANNEL, RasaApi, RasaError, bot_event
from catalog.domain.statuses import Channel, MessageKind
from catalog.services.outbox import queue_message
from catalog.uow import UnitOfWork

log = logging.getLogger(__name__)
MAX_REPLY = 2000
_locks: dict[str, asyncio.Lock] = {}


class DeliveryError(RuntimeError):
    """The reply could not be delivered (nothing was sent); the message says why, for the log."""


def _already_sent(tracker: dict[str, Any], key: str) -> bool:
    return any(e.get("event") == "bot" and isinstance(e.get("metadata"), dict) and e["metadata"].get("reply_key") == key
               for e in tracker.get("events") or [])


async def send_reply(rasa: RasaApi, uow: UnitOfWork, sender_id: str, text: str, staff: str, key: str,
                     fallback_channel: str = "", kind: str = MessageKind.STAFF_REPLY) -> str:
    """Deliver `text` to the customer of conversation `sender_id`; returns the channel used.
    Raises DeliveryError, or RasaError when Rasa cannot be reached."""
    text = (text or "").strip()
    if not text:
        raise DeliveryError("the message is empty")
    if len(text) > MAX_REPLY:
        raise DeliveryError(f"the message is too long (at most {MAX_REPLY} characters)")
    key = (key or "").strip()[:100]
    if not key:
        raise DeliveryError("the form was incomplete (no reply key)")
    lock = _locks.setdefault(sender_id, asyncio.Lock())
    async with lock:
        tracker = await rasa.tracker(sender_id)
        if _already_sent(tracker, key):
            return "already sent"
        channel = tracker.get("latest_input_channel") or fallback_channel or Channel.REST
        metadata = {"staff": staff, "author": staff, "kind": kind, "reply_key": key}
        if channel == WEB_CHANNEL:
            try:
                await rasa.send_to_widget(sender_id, text, metadata)
            except RasaError as exc:
                log.exception("staff reply to web conversation %s failed", sender_id)
                raise DeliveryError(f"the web chat did not take the message ({exc})") from exc
            return channel
        if channel == Channel.TELEGRAM:
            queued = await asyncio.to_thread(queue_message, uow, Channel.TELEGRAM, sender_id, kind, text,
                                             {"staff": staff}, f"{kind}:{sender_id}:{key}")
            if queued:
                await rasa.append(sender_id, [bot_event(text, metadata)])
            return channel
        await rasa.append(sender_id, [bot_event(text, metadata)])
        return channel
