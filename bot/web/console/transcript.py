"""A conversation as staff see it, read from Rasa's tracker: the transcript, and which
products it was about (catalog.views.customer_panel shows their stock beside it).

Everything here is data; the templates escape it (Jinja2 autoescape) and the page script
only ever sets `textContent`, so a customer's words are shown, never run.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from catalog.domain.products import sku_key
from catalog.search.text import sku_candidates
from catalog.wording import console as says

SKU_SLOTS = ("product_sku", "preorder_sku", "substitute_for")
MAX_TEXT = 4000


def _time(ts: Any) -> str | None:
    if not isinstance(ts, (int, float)):
        return None
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def transcript(tracker: dict[str, Any]) -> list[dict[str, Any]]:
    """User and bot messages in order, staff messages and take-over notes marked as such."""
    out: list[dict[str, Any]] = []
    for event in tracker.get("events") or []:
        kind = event.get("event")
        when = _time(event.get("timestamp"))
        if kind == "user":
            text = event.get("text")
            if text is None:
                continue
            out.append({"kind": "user", "who": "customer", "text": str(text)[:MAX_TEXT], "time": when,
                        "channel": event.get("input_channel") or ""})
        elif kind == "bot":
            meta = event.get("metadata") or {}
            staff = meta.get("staff") if isinstance(meta, dict) else None
            if staff and meta.get("taken_over"):
                out.append({"kind": "note", "who": str(staff), "text": says.taken_over(str(staff)), "time": when})
                continue
            if staff and meta.get("handed_back"):
                out.append({"kind": "note", "who": str(staff), "text": says.handed_back(str(staff)), "time": when})
                continue
            text = event.get("text")
            data = event.get("data") or {}
            buttons = [str(b.get("title") or b.get("payload") or "") for b in (data.get("buttons") or [])
                       if isinstance(b, dict)]
            if not text and not buttons:
                continue
            out.append({"kind": "staff" if staff else "bot", "who": str(staff) if staff else "assistant",
                        "text": str(text or "")[:MAX_TEXT], "time": when, "buttons": buttons[:10]})
        elif kind == "pause":
            out.append({"kind": "note", "who": "", "text": says.PAUSED, "time": when})
        elif kind == "resume":
            out.append({"kind": "note", "who": "", "text": says.RESUMED, "time": when})
    return out


def mentioned_skus(tracker: dict[str, Any]) -> list[str]:
    """SKUs the conversation was about: product slots over time, and SKU-like words typed."""
    found: list[str] = []
    for event in tracker.get("events") or []:
        if event.get("event") == "slot" and event.get("name") in SKU_SLOTS and isinstance(event.get("value"), str):
            found.append(event["value"])
        elif event.get("event") == "user" and isinstance(event.get("text"), str):
            found.extend(sku_candidates(event["text"][:MAX_TEXT])[:10])
    slots = tracker.get("slots") or {}
    found.extend(str(slots[s]) for s in SKU_SLOTS if isinstance(slots.get(s), str))
    seen: dict[str, None] = {}
    for sku in reversed(found):  # most recent first
        key = sku_key(sku)
        if key:
            seen.setdefault(key, None)
    return list(seen)[:50]
