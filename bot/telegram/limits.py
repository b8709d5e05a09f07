"""Telegram's sending limits, kept on our side so the bot is never throttled or banned.

Telegram allows about 30 messages a second in all and about one a second to one chat,
and answers 429 with retry_after beyond that. The limiter stays a little under both
and spaces messages evenly (one every 1/per_second s) instead of letting a second's
worth go out at once: Telegram counts on its own clock, after network jitter, and a
burst that left here within one second can arrive there within less. After a 429 it
pauses all sending for the time Telegram asked. A new limiter (a dispatcher just started,
e.g. after a restart) sends nothing for one per-chat interval: the dispatcher before it may
have written to the same chats a moment ago.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class RateLimiter:
    def __init__(self, per_second: int = 25, per_chat_interval: float = 1.1,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.per_second = per_second
        self.per_chat_interval = per_chat_interval
        self._clock, self._sleep = clock, sleep
        self._next_slot = 0.0
        self._next_for_chat: dict[str, float] = {}
        self._paused_until = clock() + per_chat_interval
        self._lock = asyncio.Lock()

    async def acquire(self, chat: str) -> None:
        """Wait until one more message to `chat` keeps within both limits, and count it."""
        while True:
            async with self._lock:
                now = self._clock()
                wait = max(self._paused_until - now, self._next_for_chat.get(chat, 0.0) - now, self._next_slot - now)
                if wait <= 0:
                    self._next_slot = now + 1.0 / self.per_second
                    self._next_for_chat[chat] = now + self.per_chat_interval
                    if len(self._next_for_chat) > 10_000:
                        self._next_for_chat = {c: t for c, t in self._next_for_chat.items() if t > now}
                    return
            await self._sleep(wait)

    def pause(self, seconds: float) -> None:
        """Telegram said "retry after": nothing is sent to anyone until then."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
