"""Queued messages as the customer reads them, worded when they are sent.

An outbox row holds the facts (`kind` and `payload`); each channel's sender calls
`notice_text` so a back-in-stock alert or a delay notice reads the same on Telegram, in
the website's chat and in the log. A message a person wrote (a staff reply) is its `body`.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from catalog.domain.statuses import MessageKind
from catalog.wording.format import due, variant_label


def notice_text(kind: str, payload: dict[str, Any], body: str = "") -> str:
    if body:
        return body
    if kind == MessageKind.RESTOCK_ALERT:
        return restock_alert(payload)
    if kind == MessageKind.DELAY_NOTICE:
        return delay_notice(payload)
    raise ValueError(f"a {kind!r} message without words")


def restock_alert(payload: dict[str, Any]) -> str:
    label = variant_label(payload.get("color"), payload.get("size"))
    name = " ".join(part for part in (payload.get("product") or payload.get("sku") or "our item",
                                      f"({label})" if label else "") if part)
    until = dt.datetime.fromisoformat(payload["held_until"])
    return (f"Good news: {name} is back in stock. One is held for you until "
            f"{until:%H:%M} UTC on {until.day} {until:%b}.")


def delay_notice(payload: dict[str, Any]) -> str:
    new = dt.date.fromisoformat(payload["new_eta"])
    told = dt.date.fromisoformat(payload["previous_eta"]) if payload.get("previous_eta") else None
    return (f"Your pre-order of {payload['sku']} is delayed: it is now due around {due(new)} "
            f"(we said {due(told)}). You can keep waiting, or cancel for a full refund.")
