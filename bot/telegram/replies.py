"""The assistant's replies (Rasa's REST format) as Telegram messages.

- Text is sent as MarkdownV2 with every reserved character escaped: product names
  and shopper input ("Size 10.5 (EU)", "50% off!") can never break a message.
- Buttons become an inline keyboard, one per row. Telegram limits a button's callback
  data to 64 bytes; longer payloads (a button choosing a substitute by SKU can be
  longer) are kept in `ButtonPayloads` under a short key.
- An image becomes a photo; the text just before it becomes its caption when short
  enough, so a product arrives as one message. A `product` card (custom payload with
  image_url, title, price, stock) is a photo with a caption.
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.helpers import escape_markdown

CALLBACK_LIMIT = 64  # bytes, Telegram's limit
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


class ButtonPayloads:
    """Payloads too long for callback data, under short keys; the oldest are forgotten
    first (a button that old answers "please ask again")."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._store: OrderedDict[str, str] = OrderedDict()

    def encode(self, payload: str) -> str:
        if len(payload.encode()) <= CALLBACK_LIMIT and not payload.startswith("#"):
            return payload
        key = "#" + hashlib.sha1(payload.encode()).hexdigest()[:24]
        self._store[key] = payload
        self._store.move_to_end(key)
        while len(self._store) > self.capacity:
            self._store.popitem(last=False)
        return key

    def decode(self, data: str) -> str | None:
        return self._store.get(data) if data.startswith("#") else data


@dataclass
class Outgoing:
    text: str  # what the shopper reads (unescaped)
    photo: str | None = None
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (title, callback data)

    @property
    def markdown(self) -> str:
        return escape_markdown(self.text, version=2)

    def keyboard(self) -> InlineKeyboardMarkup | None:
        if not self.buttons:
            return None
        return InlineKeyboardMarkup([[InlineKeyboardButton(title[:64], callback_data=data)]
                                     for title, data in self.buttons])


def render(messages: list[dict[str, Any]], payloads: ButtonPayloads) -> list[Outgoing]:
    out: list[Outgoing] = []
    for m in messages:
        custom = m.get("custom") if isinstance(m.get("custom"), dict) else None
        if custom and custom.get("type") == "product" and custom.get("image_url"):
            out.append(Outgoing(_card_caption(custom), photo=str(custom["image_url"])))
            continue
        if m.get("image"):
            previous = out[-1] if out else None
            if previous and previous.photo is None and not previous.buttons and len(previous.text) <= CAPTION_LIMIT:
                previous.photo = str(m["image"])  # the words before the picture become its caption
            else:
                out.append(Outgoing("", photo=str(m["image"])))
            continue
        text = str(m.get("text") or "")
        buttons = [(str(b.get("title") or b.get("payload") or "?"), payloads.encode(str(b.get("payload") or b.get("title"))))
                   for b in m.get("buttons") or [] if b.get("payload") or b.get("title")]
        if not text and not buttons:
            continue
        chunks = _split(text or "Choose one:")
        out.extend(Outgoing(chunk) for chunk in chunks[:-1])
        out.append(Outgoing(chunks[-1], buttons=buttons))
    return out


def _card_caption(card: dict[str, Any]) -> str:
    parts = [str(card.get("title") or "")]
    if card.get("price"):
        parts.append(f"{card.get('price')} {card.get('currency') or ''}".strip())
    if card.get("stock"):
        parts.append(str(card["stock"]))
    return "\n".join(p for p in parts if p)[:CAPTION_LIMIT]


def _split(text: str, limit: int = TEXT_LIMIT // 2) -> list[str]:
    """Pieces that stay under Telegram's limit once escaped (escaping at most doubles)."""
    pieces, rest = [], text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        cut = cut if cut > limit // 2 else limit
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    pieces.append(rest)
    return pieces
