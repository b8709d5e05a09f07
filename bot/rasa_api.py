"""Rasa's HTTP API, the one client for it: conversations read (transcripts, a widget's
history), events appended (pause and resume, staff notes), and bot messages put into a
conversation from outside it (queued alerts, staff replies). Needs Rasa started with
`--enable-api --auth-token`; the token stays on the server and never reaches a browser.

A bot message is appended as a `bot` event with side effects executed on a named output
channel:

    POST {RASA_URL}/conversations/{id}/tracker/events?output_channel=socketio&execute_side_effects=true
    {"event": "bot", "text": ..., "metadata": {"kind": ..., ...}}

so Rasa records it (staff and the assistant see it in the transcript) and emits it to the
socket.io room of that session, i.e. to every open widget of the shopper
(bot/rasa_server.py adds the time and the metadata's `kind`, `outbox_id` and `author`). A
shopper who is not on the page gets it from the conversation's history when the widget
next connects. The channel is named rather than `latest`: a name cannot silently fall
back to Rasa's collecting channel (which would record the message but show it to no one).

Rasa 3.6 and a paused conversation (rasa/core/processor.py): `handle_message` still logs
the user's message and saves the tracker, but predicts nothing while `tracker.is_paused()`,
unless the message is the `/restart` intent, which resets the conversation and so ends
the pause.
"""
from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import httpx

from bot.web.messages import is_widget_session
from catalog.domain.statuses import Channel

WEB_CHANNEL = Channel.WEB  # Rasa's socket.io channel: the website's widget
TIMEOUT = httpx.Timeout(15.0, connect=5.0)


class RasaError(RuntimeError):
    """Rasa could not be reached or refused. `transient`: worth trying again later (Rasa down
    or busy, a network error, a wrong token being fixed); otherwise never will be."""

    def __init__(self, message: str, status: int | None = None, transient: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.transient = transient


def bot_event(text: str | None, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"event": "bot", "text": text, "timestamp": time.time(), "metadata": dict(metadata or {})}


def staff_note(staff: str, **flags: bool) -> dict[str, Any]:
    """A bot event without text: the bot (and the transcript) can see who did what."""
    return bot_event(None, {"staff": staff, **flags})


class RasaApi:
    """`client`: a long-lived connection pool for a process that talks to Rasa all the
    time on one event loop (the web sender); without one, each call opens its own."""

    def __init__(self, base_url: str, token: str, client: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.client = client

    def _url(self, sender_id: str, suffix: str) -> str:
        return f"{self.base_url}/conversations/{quote(sender_id, safe='')}/{suffix}"

    async def tracker(self, sender_id: str, include_events: str | None = None) -> dict[str, Any]:
        params = {"token": self.token}
        if include_events:
            params["include_events"] = include_events
        response = await self._request("GET", self._url(sender_id, "tracker"), params=params)
        try:
            return response.json()
        except ValueError as exc:
            raise RasaError("Rasa sent something that is not JSON") from exc

    async def append(self, sender_id: str, events: list[dict[str, Any]], output_channel: str | None = None) -> None:
        """Append events; with `output_channel` Rasa also sends bot messages to that channel."""
        params = {"token": self.token, "include_events": "NONE"}
        if output_channel:
            params.update(output_channel=output_channel, execute_side_effects="true")
        await self._request("POST", self._url(sender_id, "tracker/events"), params=params, json=events)

    async def pause(self, sender_id: str, staff: str) -> None:
        await self.append(sender_id, [{"event": "pause", "timestamp": time.time()}, staff_note(staff, taken_over=True)])

    async def resume(self, sender_id: str, staff: str) -> None:
        await self.append(sender_id, [{"event": "resume", "timestamp": time.time()},
                                      staff_note(staff, handed_back=True)])

    async def send_to_widget(self, session_id: str, text: str, metadata: dict[str, Any] | None = None) -> None:
        """A bot message into a website conversation, pushed to its open widgets (the widget
        shows `metadata["author"]` above a staff reply). Raises RasaError."""
        if not is_widget_session(session_id):
            raise RasaError(f"not a web session id: {session_id!r}", transient=False)
        if not text or not text.strip():
            raise RasaError("empty message", transient=False)
        await self.append(session_id, [bot_event(text, metadata)], output_channel=WEB_CHANNEL)

    async def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            if self.client is not None:
                response = await self.client.request(method, url, **kwargs)
            else:
                async with httpx.AsyncClient(timeout=TIMEOUT) as client:
                    response = await client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:  # connection refused, timeouts, broken responses
            raise RasaError(f"Rasa unreachable: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 300:
            # 401/403: a token being fixed; 409: no model loaded yet; 429/5xx: busy or failing.
            transient = response.status_code >= 500 or response.status_code in (401, 403, 408, 409, 423, 429)
            raise RasaError(f"Rasa answered {response.status_code}: {response.text[:300]}", response.status_code,
                            transient)
        return response
