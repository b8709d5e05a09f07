"""Rasa's end of the Telegram bridge: REST-like, but only the bridge may use it.

Conversations arriving here are recorded with the input channel "telegram", which the
actions trust to identify the shopper (a Telegram user id is vouched for by Telegram,
unlike a REST sender id anyone can choose). So the endpoint refuses any request without
the secret shared with the bridge (`TELEGRAM_BRIDGE_SECRET`); with no secret set, it
refuses everything.

Route: POST /webhooks/telegram/webhook {"sender", "message", "metadata"} with header
X-Bridge-Secret; answers with the bot's messages like the REST channel.
"""
from __future__ import annotations

import hmac
from typing import Any

from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request

from bot.telegram.settings import BRIDGE_SECRET_HEADER, bridge_secret


class TelegramBridgeInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "telegram"  # catalog.domain.statuses.Channel.TELEGRAM (not importable here: Python 3.10)

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TelegramBridgeInput:
        return cls()

    def _extract_input_channel(self, req: Request) -> str:
        return self.name()

    def get_metadata(self, request: Request) -> dict[str, Any] | None:
        metadata = (request.json or {}).get("metadata")
        return metadata if isinstance(metadata, dict) else None

    def blueprint(self, on_new_message) -> Blueprint:
        blueprint = super().blueprint(on_new_message)

        @blueprint.middleware("request")
        async def only_the_bridge(request: Request):
            secret = bridge_secret()
            given = request.headers.get(BRIDGE_SECRET_HEADER, "")
            if request.method != "GET" and not (secret and hmac.compare_digest(given.encode(), secret.encode())):
                return response.json({"error": "forbidden"}, status=403)
            return None

        return blueprint
