"""A staff member's message reaches the customer on the channel they are using.

- web widget (`socketio`): `bot.web.relay.send_to_web_conversation`, which appends a bot
  event with `output_channel=latest&execute_side_effects=true`, so Rasa pushes it to the
  open widget and keeps it in the transcript;
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
import inspect
import logging
from typing import Any

from sqlalchemy import select

from bot.web.console.rasa import RasaClient, bot_message
from catalog.db.orm import ChannelIdentity
from catalog.services.outbox import enqueue
from catalog.uow import UnitOfWork

log = logging.getLogger(__name__)
MAX_REPLY = 2000
_locks: dict[str, asyncio.Lock] = {}


class DeliveryError(RuntimeError):
    """The reply could not be delivered; the message says why, for the staff member."""


def _relay():
    try:
        from bot.web.relay import send_to_web_conversation
    except ImportError:  # the widget's relay lands separately
        return None
    return send_to_web_conversation


def _already_sent(tracker: dict[str, Any], key: str) -> bool:
    return any(e.get("event") == "bot" and isinstance(e.get("metadata"), dict) and e["metadata"].get("reply_key") == key
               for e in tracker.get("events") or [])


async def send_reply(settings: Any, rasa: RasaClient, uow: UnitOfWork, sender_id: str, text: str, staff: str,
                     key: str, fallback_channel: str = "", kind: str = "staff_reply") -> str:
    """Deliver `text` to the customer of conversation `sender_id`; returns the channel used.
    Raises DeliveryError (nothing was sent) with a reason staff can act on."""
    text = (text or "").strip()
    if not text:
        raise DeliveryError("The message is empty.")
    if len(text) > MAX_REPLY:
        raise DeliveryError(f"The message is too long (at most {MAX_REPLY} characters).")
    key = (key or "").strip()[:100]
    if not key:
        raise DeliveryError("The form was incomplete; reload the page and try again.")
    lock = _locks.setdefault(sender_id, asyncio.Lock())
    async with lock:
        tracker = await rasa.tracker(sender_id)
        if _already_sent(tracker, key):
            return "already sent"
        channel = tracker.get("latest_input_channel") or fallback_channel or "rest"
        metadata = {"staff": staff, "author": staff, "kind": kind, "reply_key": key}
        if channel == "socketio":
            relay = _relay()
            if relay is None:
                raise DeliveryError("The web chat relay is not available on this server, so the message "
                                    "cannot reach the customer's chat window.")
            try:
                result = relay(settings, sender_id, text, metadata)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                log.exception("staff reply to web conversation %s failed", sender_id)
                raise DeliveryError(f"The web chat did not take the message ({type(exc).__name__}).") from exc
            return channel
        if channel == "telegram":
            queued = await asyncio.to_thread(_enqueue_telegram, uow, sender_id, text, staff, key, kind)
            if queued:
                await rasa.append(sender_id, [bot_message(text, metadata)])
            return channel
        await rasa.append(sender_id, [bot_message(text, metadata)])
        return channel


def _enqueue_telegram(uow: UnitOfWork, chat_id: str, text: str, staff: str, key: str, kind: str) -> bool:
    with uow:
        customer_id = uow.session.execute(select(ChannelIdentity.customer_id).where(
            ChannelIdentity.channel == "telegram", ChannelIdentity.external_id == chat_id[:200])).scalar()
        n = enqueue(uow.session, customer_id=customer_id, channel="telegram", recipient=chat_id[:200], kind=kind,
                    body=text, payload={"staff": staff}, dedupe_key=f"{kind}:{chat_id}:{key}")
        uow.commit()
        return n > 0
