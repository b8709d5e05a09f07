"""What the chat widget receives: one bot message (Rasa's response dict) as socket.io events.

Used on both sides, so a live message and the same message read back from the
conversation's history look alike to the widget:
- in Rasa (bot/rasa_server.py, Python 3.10), by the socket.io output channel;
- in the web server (bot/web/shop.py, Python 3.11), by the widget's history endpoint.

Rasa's own socket.io channel has the same shapes (`text`, `quick_replies`, `attachment`)
but drops everything else: it sends no time, so a widget cannot tell which messages it
already has, and it emits a custom payload as keyword arguments of `emit`, which fails
for any payload not shaped like emit's own parameters. Here a custom payload travels as
`{"custom": {...}}`, and each event carries the bot message's `timestamp` (all parts of one
message share it) plus, when set, `kind`, `outbox_id` and `author` from its metadata
(a back-in-stock alert, the outbox row it came from, the staff member who replied).

Pure Python, no dependencies: importable from both environments.
"""
from __future__ import annotations

import re
from typing import Any

PASSED_ON = ("kind", "outbox_id", "author")
# A widget's session id is the one Rasa makes up (uuid4().hex): never a Telegram chat id or a
# REST sender id, so a browser cannot step into another channel's conversation by naming it.
WIDGET_SESSION_ID = re.compile(r"[0-9a-f]{32}")


def is_widget_session(value: Any) -> bool:
    return isinstance(value, str) and WIDGET_SESSION_ID.fullmatch(value) is not None


def socket_messages(message: dict[str, Any], metadata: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Rasa's response dict (`BotUttered.message()`: text, buttons, quick_replies, image,
    attachment, custom, elements, timestamp, and the metadata merged in) as widget events."""
    extra: dict[str, Any] = {}
    if isinstance(message.get("timestamp"), (int, float)):
        extra["timestamp"] = float(message["timestamp"])
    for source in (message, metadata or {}):
        for key in PASSED_ON:
            if source.get(key) not in (None, ""):
                extra[key] = source[key]

    out: list[dict[str, Any]] = []
    text = message.get("text") if isinstance(message.get("text"), str) else ""
    buttons = [b for b in (message.get("buttons") or message.get("quick_replies") or []) if isinstance(b, dict)]
    if text.strip() or buttons:
        parts = [{"text": part} for part in text.strip().split("\n\n") if part.strip()] or [{"text": ""}]
        if buttons:
            parts[-1]["quick_replies"] = [
                {"content_type": "text", "title": str(b.get("title") or b.get("payload") or ""),
                 "payload": str(b.get("payload") or b.get("title") or "")}
                for b in buttons if b.get("title") or b.get("payload")]
        out.extend(parts)
    custom = message.get("custom")
    if isinstance(custom, dict) and custom:
        out.append({"custom": custom})
    image = message.get("image")
    if isinstance(image, str) and image:
        out.append({"attachment": {"type": "image", "payload": {"src": image}}})
    attachment = message.get("attachment")
    if attachment and attachment != image:
        out.append({"attachment": attachment if isinstance(attachment, dict) else {"type": "file", "payload": {
            "src": str(attachment)}}})
    for element in message.get("elements") or []:
        out.append({"attachment": {"type": "template", "payload": {"template_type": "generic", "elements": element}}})
    for part in out:
        part.update(extra)
    return out


def bot_events_as_messages(events: list[dict[str, Any]], since: float | None = None,
                           limit: int = 200) -> list[dict[str, Any]]:
    """The bot messages of a conversation's tracker events (Rasa's HTTP API), as the widget
    receives them live; only those newer than `since`, at most the last `limit`."""
    out: list[dict[str, Any]] = []
    for event in events:
        if not isinstance(event, dict) or event.get("event") != "bot":
            continue
        ts = event.get("timestamp")
        if since is not None and (not isinstance(ts, (int, float)) or ts <= since):
            continue
        message = dict(event.get("data") or {})
        message["text"] = event.get("text")
        message["timestamp"] = ts
        out.extend(socket_messages(message, event.get("metadata") if isinstance(event.get("metadata"), dict) else None))
    return out[-limit:]
