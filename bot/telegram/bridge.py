"""The Telegram bridge: python-telegram-bot in front, the assistant (Rasa) behind.

Each private-chat update goes to Rasa's telegram channel (bot/channels/telegram_bridge.py)
as the Telegram user, and the replies come back as Telegram messages (bot/telegram/replies.py).
Messages of one chat are handled one after another, in the order they came; different
chats in parallel (`PerChatUpdateProcessor`).

Commands: /start (a deep link `t.me/<bot>?start=<SKU>` asks about that product),
/help, /stop (ends back-in-stock alerts for this chat).

Run: `python -m bot.telegram.bridge` (long polling; TELEGRAM_MODE=webhook for a webhook,
which refuses updates without Telegram's secret-token header).
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from telegram import Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.logs import configure as configure_logging
from bot.telegram.replies import ButtonPayloads, Outgoing, render
from bot.telegram.settings import BRIDGE_SECRET_HEADER, TelegramSettings
from catalog.config import database_url
from catalog.domain.statuses import Channel
from catalog.services.reachability import mark_reachable, stop_alerts
from catalog.uow import UnitOfWork
from catalog.wording import telegram as says
from catalog.wording.errors import ASSISTANT_DOWN

log = logging.getLogger(__name__)
CHANNEL = Channel.TELEGRAM
DEEP_LINK = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what Telegram allows in a start payload


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Updates of one chat one at a time, in arrival order; different chats concurrently."""

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat.id if isinstance(update, Update) and update.effective_chat else None
        if chat is None:
            await coroutine
            return
        lock = self._locks[chat]
        try:
            async with lock:
                await coroutine
        finally:
            if not lock.locked() and chat in self._locks and not getattr(lock, "_waiters", None):
                del self._locks[chat]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


class Bridge:
    def __init__(self, settings: TelegramSettings, uow_factory: Callable[[], UnitOfWork]) -> None:
        self.settings = settings
        self.uow_factory = uow_factory
        self.payloads = ButtonPayloads()
        self.http: httpx.AsyncClient | None = None
        self.bot = None  # the application's Bot, set when it starts

    # ------------------------------------------------------------------ wiring
    def register(self, app: Application) -> None:
        private = filters.ChatType.PRIVATE
        app.add_handler(CommandHandler("start", self.on_start, filters=private))
        app.add_handler(CommandHandler("help", self.on_help, filters=private))
        app.add_handler(CommandHandler("stop", self.on_stop, filters=private))
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, self.on_text))
        app.add_handler(MessageHandler(private & filters.COMMAND, self.on_unknown_command))
        app.add_error_handler(self.on_error)

    async def start(self, app: Application) -> None:
        self.bot = app.bot
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0),
                                      limits=httpx.Limits(max_connections=64))

    async def stop(self, app: Application) -> None:
        if self.http is not None:
            await self.http.aclose()

    # ------------------------------------------------------------------ handlers
    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        sender = self._sender(update)
        await asyncio.to_thread(mark_reachable, self.uow_factory(), CHANNEL, sender)
        payload = context.args[0] if context.args else ""
        if DEEP_LINK.match(payload):  # t.me/<bot>?start=SKU: the product the shopper came from
            await self.converse(update, "/check_stock" + json.dumps({"sku": payload}))
        else:
            await self.converse(update, "/greet")

    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.send(update.effective_chat.id, [Outgoing(says.HELP)])

    async def on_stop(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        stopped = await asyncio.to_thread(stop_alerts, self.uow_factory(), CHANNEL, self._sender(update))
        await self.send(update.effective_chat.id, [Outgoing(says.stopped(stopped.alerts_ended))])

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.converse(update, update.effective_message.text or "")

    async def on_unknown_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.send(update.effective_chat.id, [Outgoing(says.UNKNOWN_COMMAND)])

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer()  # stops the button's spinner
        if query.message is not None:
            try:  # the choice is made: the buttons go, so they can't be pressed twice
                await query.edit_message_reply_markup(reply_markup=None)
            except BadRequest:
                pass
        payload = self.payloads.decode(query.data or "")
        if not payload:
            await self.send(update.effective_chat.id, [Outgoing(says.EXPIRED_BUTTON)])
            return
        await self.converse(update, payload)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram update failed", exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat:
            try:
                await self.send(update.effective_chat.id, [Outgoing(ASSISTANT_DOWN)])
            except TelegramError:
                pass

    # ------------------------------------------------------------------ talking to Rasa
    async def converse(self, update: Update, text: str) -> None:
        chat = update.effective_chat.id
        user = update.effective_user
        try:
            await update.get_bot().send_chat_action(chat, ChatAction.TYPING)
        except TelegramError:
            pass
        metadata = {"telegram_chat_id": chat, "first_name": user.first_name if user else None,
                    "username": user.username if user else None}
        try:
            replies = await self.ask_rasa(self._sender(update), text, metadata)
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("assistant unreachable for chat %s: %s", chat, exc)
            await self.send(chat, [Outgoing(ASSISTANT_DOWN)])
            return
        outgoing = render(replies, self.payloads)
        if not outgoing:
            outgoing = [Outgoing(says.DIDNT_CATCH)]
        await self.send(chat, outgoing, bot=update.get_bot())

    async def ask_rasa(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        assert self.http is not None
        response = await self.http.post(
            f"{self.settings.rasa_url}/webhooks/telegram/webhook",
            json={"sender": sender, "message": text, "metadata": metadata},
            headers={BRIDGE_SECRET_HEADER: self.settings.bridge_secret},
        )
        response.raise_for_status()
        data = response.json()
        if not isinstance(data, list):
            raise ValueError("unexpected reply from the assistant")
        return data

    async def send(self, chat: int, messages: list[Outgoing], bot=None) -> None:
        bot = bot or self.bot
        for m in messages:
            if m.photo:
                try:
                    await bot.send_photo(chat, m.photo, caption=m.markdown[:1024] or None,
                                         parse_mode=ParseMode.MARKDOWN_V2, reply_markup=m.keyboard())
                    continue
                except BadRequest:  # Telegram could not fetch the picture: the words still go
                    if not m.text:
                        continue
            await bot.send_message(chat, m.markdown, parse_mode=ParseMode.MARKDOWN_V2, reply_markup=m.keyboard())

    @staticmethod
    def _sender(update: Update) -> str:
        """The Telegram user is the customer's channel identity (in a private chat, the
        chat id is the user id, which is also where alerts are sent)."""
        return str(update.effective_user.id if update.effective_user else update.effective_chat.id)


def build_application(settings: TelegramSettings, uow_factory: Callable[[], UnitOfWork] | None = None) -> Application:
    url = database_url()
    bridge = Bridge(settings, uow_factory or (lambda: UnitOfWork(url)))
    app = (ApplicationBuilder().token(settings.token).base_url(settings.api_base_url)
           .concurrent_updates(PerChatUpdateProcessor(256))
           .post_init(bridge.start).post_shutdown(bridge.stop).build())
    bridge.register(app)
    return app


def main() -> int:
    configure_logging()
    settings = TelegramSettings.from_env()
    if not settings.enabled:
        print("Telegram is off: set TELEGRAM_BOT_TOKEN to start the bridge", file=sys.stderr)
        return 0
    if not settings.bridge_secret:
        print("TELEGRAM_BRIDGE_SECRET is not set: Rasa would refuse the bridge", file=sys.stderr)
        return 2
    app = build_application(settings)
    updates = [Update.MESSAGE, Update.CALLBACK_QUERY]
    if settings.mode == "webhook":
        app.run_webhook(listen=settings.webhook_listen, port=settings.webhook_port, url_path="telegram",
                        webhook_url=settings.webhook_url, secret_token=settings.webhook_secret,
                        allowed_updates=updates)
    else:
        app.run_polling(allowed_updates=updates, poll_interval=0.0, timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
