"""Bot messages into a website conversation from outside it: queued alerts (bot/web/delivery.py)
and staff replies (the console calls `send_to_web_conversation`).

The message is appended to the conversation through Rasa's HTTP API as a `bot` event with
side effects executed on the socket.io output channel:

    POST {RASA_URL}/conversations/{session_id}/tracker/events
         ?output_channel=socketio&execute_side_effects=true&include_events=NONE&token={RASA_TOKEN}
    {"event": "bot", "text": ..., "metadata": {"kind": ..., ...}}

Rasa records it in the conversation (staff and the assistant see it in the transcript) and
emits it to the socket.io room of that session id, i.e. to every open widget of the shopper
(bot/rasa_server.py adds the time and the metadata's `kind`, `outbox_id` and `author`). A
shopper who is not on the page gets it from the conversation's history when the widget
next connects. The output channel is named rather than `latest`: these are web
conversations whatever else happened in them, and a name cannot silently fall back to
Rasa's collecting channel (which would record the message but show it to no one).
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from bot.web.messages import is_widget_session
from bot.web.settings import WebSettings

OUTPUT_CHANNEL = "socketio"
TIMEOUT = httpx.Timeout(15.0, connect=5.0)


class RelayError(Exception):
    """Rasa did not take the message. `transient`: worth trying again later (Rasa down or
    busy, a network error, a wrong token being fixed); otherwise this message never will be."""

    def __init__(self, message: str, status: int | None = None, transient: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.transient = transient


def valid_session_id(session_id: str) -> bool:
    """A widget's session id (32 hex digits, made up by Rasa): the conversation is a web one."""
    return is_widget_session(session_id)


def bot_event(text: str, metadata: dict[str, Any] | None = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"event": "bot", "text": text, "metadata": dict(metadata or {})}
    if data:
        event["data"] = data
    return event


async def post_bot_event(client: httpx.AsyncClient, settings: WebSettings, session_id: str, text: str,
                         metadata: dict[str, Any] | None = None, data: dict[str, Any] | None = None) -> None:
    """Append one bot message to the conversation and send it to the shopper's open widgets.
    Raises RelayError."""
    if not valid_session_id(session_id):
        raise RelayError(f"not a web session id: {session_id!r}", transient=False)
    if not text or not text.strip():
        raise RelayError("empty message", transient=False)
    url = f"{settings.rasa_url}/conversations/{quote(session_id, safe='')}/tracker/events"
    params = {"output_channel": OUTPUT_CHANNEL, "execute_side_effects": "true", "include_events": "NONE"}
    if settings.rasa_token:
        params["token"] = settings.rasa_token
    try:
        response = await client.post(url, params=params, json=bot_event(text, metadata, data))
    except httpx.HTTPError as exc:  # connection refused, timeouts, broken responses
        raise RelayError(f"Rasa unreachable: {type(exc).__name__}: {exc}") from exc
    if response.status_code < 300:
        return
    detail = f"Rasa answered {response.status_code}: {response.text[:300]}"
    # 401/403: a token being fixed; 409: no model loaded yet; 429/5xx: busy or failing.
    transient = response.status_code >= 500 or response.status_code in (401, 403, 408, 409, 423, 429)
    raise RelayError(detail, response.status_code, transient)


async def send_to_web_conversation(settings: WebSettings, session_id: str, text: str,
                                   metadata: dict[str, Any] | None = None) -> None:
    """A staff reply (or any bot message) into a website conversation, e.g.
    `await send_to_web_conversation(settings, session_id, "Hi, Sam here", {"kind": "staff_reply", "author": "Sam"})`.
    The widget shows `author` above the message. Raises RelayError when Rasa does not take it."""
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        await post_bot_event(client, settings, session_id, text, metadata)
