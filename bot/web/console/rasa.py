"""Rasa's HTTP API as the console uses it: read a tracker, append events (pause, resume,
a staff message). Needs Rasa started with `--enable-api --auth-token`; the token stays on
the server and never reaches a browser.

Rasa 3.6 and a paused conversation (rasa/core/processor.py): `handle_message` still logs
the user's message (and runs slot extraction) and saves the tracker, but
`_run_prediction_loop` predicts nothing while `tracker.is_paused()`, unless the message
is the `/restart` intent, which resets the conversation and so ends the pause.
"""
from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import httpx


class RasaError(RuntimeError):
    """Rasa could not be reached or refused the request."""


class RasaClient:
    def __init__(self, base_url: str, token: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _url(self, sender_id: str, suffix: str) -> str:
        return f"{self.base_url}/conversations/{quote(sender_id, safe='')}/{suffix}"

    async def tracker(self, sender_id: str) -> dict[str, Any]:
        return await self._call("GET", self._url(sender_id, "tracker"), params={"token": self.token})

    async def append(self, sender_id: str, events: list[dict[str, Any]], output_channel: str | None = None) -> dict[str, Any]:
        """Append events; with `output_channel` Rasa also sends bot messages to that channel."""
        params = {"token": self.token}
        if output_channel:
            params.update(output_channel=output_channel, execute_side_effects="true")
        return await self._call("POST", self._url(sender_id, "tracker/events"), params=params, json=events)

    async def pause(self, sender_id: str, staff: str) -> dict[str, Any]:
        return await self.append(sender_id, [{"event": "pause", "timestamp": time.time()},
                                             note(staff, taken_over=True)])

    async def resume(self, sender_id: str, staff: str) -> dict[str, Any]:
        return await self.append(sender_id, [{"event": "resume", "timestamp": time.time()},
                                             note(staff, handed_back=True)])

    async def _call(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise RasaError(f"Rasa is not reachable ({type(exc).__name__})") from exc
        if response.status_code >= 400:
            raise RasaError(f"Rasa answered {response.status_code}")
        try:
            return response.json()
        except ValueError as exc:
            raise RasaError("Rasa sent something that is not JSON") from exc


def note(staff: str, **flags: bool) -> dict[str, Any]:
    """A bot event without text: the bot (and the transcript) can see who did what."""
    return {"event": "bot", "text": None, "timestamp": time.time(), "metadata": {"staff": staff, **flags}}


def bot_message(text: str, metadata: dict[str, Any]) -> dict[str, Any]:
    return {"event": "bot", "text": text, "timestamp": time.time(), "metadata": metadata}
