"""Logging for every process of ours, at LOG_LEVEL (INFO by default)."""
from __future__ import annotations

import logging
import os


def configure() -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
