"""`python -m bot.web.dispatch`: send queued messages to website chats until stopped.

Needs RASA_URL and RASA_TOKEN (scripts/serve.sh exports both) and DATABASE_URL.
SIGTERM or Ctrl-C stops it cleanly: the message being sent finishes and is recorded,
claimed messages not yet sent are given back, so nothing is sent twice or lost.
"""
from __future__ import annotations

import asyncio
import sys

from bot.outbox_delivery import sender_options
from bot.web.delivery import WebDelivery
from bot.web.settings import WebSettings
from catalog.config import database_url
from catalog.uow import UnitOfWork


async def serve(settings: WebSettings, url: str, worker_id: str, batch: int) -> int:
    await WebDelivery(settings, lambda: UnitOfWork(url), worker_id, batch=batch).run_until_signalled()
    return 0


def main(argv: list[str] | None = None) -> int:
    batch, worker = sender_options("web", "Deliver queued messages to website chats (Rasa's socket.io channel)",
                                   200, argv)
    return asyncio.run(serve(WebSettings.from_env(), database_url(), worker, batch))


if __name__ == "__main__":
    sys.exit(main())
