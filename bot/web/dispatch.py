"""`python -m bot.web.dispatch`: send queued messages to website chats until stopped.

Needs RASA_URL and RASA_TOKEN (scripts/serve.sh exports both) and DATABASE_URL.
SIGTERM or Ctrl-C stops it cleanly: the message being sent finishes and is recorded,
claimed messages not yet sent are given back, so nothing is sent twice or lost.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import sys

from bot.web.delivery import WebDelivery
from bot.web.settings import WebSettings
from catalog.config import database_url
from catalog.uow import UnitOfWork


async def serve(settings: WebSettings, url: str, worker_id: str, batch: int) -> int:
    await WebDelivery(settings, lambda: UnitOfWork(url), worker_id, batch=batch).run_until_signalled()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Deliver queued messages to website chats (Rasa's socket.io channel)")
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--worker-id", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    worker = args.worker_id or f"web:{socket.gethostname()}:{os.getpid()}"
    return asyncio.run(serve(WebSettings.from_env(), database_url(), worker, max(1, args.batch)))


if __name__ == "__main__":
    sys.exit(main())
