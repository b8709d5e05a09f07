"""The Telegram bridge end to end: python-telegram-bot against a local Bot API server
(tests/fake_telegram.py), with the real Rasa and action servers behind it (scripts/serve.sh
starts the bridge and the Telegram sender when a token is set)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from sqlalchemy import select

from catalog.db.orm import ChannelIdentity, RestockSubscription
from catalog.domain.statuses import Channel, SubscriptionStatus
from catalog.services.customers import customer_for_identity
from catalog.services.reachability import mark_unreachable
from catalog.uow import UnitOfWork
from catalog.wording.errors import ASSISTANT_DOWN
from tests.demo import out_of_stock_with_substitutes, restock
from tests.fake_telegram import FakeTelegram
from tests.servers import ROOT, free_port


@pytest.fixture
def telegram(stack):
    """The shared servers' local Bot API server, and the servers."""
    return stack.telegram, stack


def replies_after(fake: FakeTelegram, chat: int, count: int, predicate, timeout: float = 60):
    """The first message to `chat` after the first `count` that matches `predicate`. A chat's
    updates are answered one after another, so each answer's messages come after the last
    one's: a predicate that only the new answer meets needs no pause to tell them apart."""
    return fake.wait_for(lambda: next((s for s in fake.messages_to(chat)[count:] if predicate(s)), None),
                         timeout=timeout, what=f"a reply in chat {chat}")


def after(fake: FakeTelegram, chat: int, message) -> int:
    """How many messages the chat had up to and including `message`."""
    return next(i for i, s in enumerate(fake.messages_to(chat)) if s.message_id == message.message_id) + 1


def test_start_stock_question_substitute_button_and_restock_alert(telegram):
    fake, servers = telegram
    chat = 910_001
    fake.push_message(chat, "/start")
    greeting = replies_after(fake, chat, 0, lambda s: s.text.startswith("Hi!"))
    assert "in stock" in greeting.text and greeting.params["parse_mode"] == "MarkdownV2"

    pid, title, stock = out_of_stock_with_substitutes(servers.database_url)
    seen = after(fake, chat, greeting)
    fake.push_message(chat, f"is {stock.sku} in stock?")
    offer = replies_after(fake, chat, seen, lambda s: len(s.buttons) >= 2)
    answer = " ".join(s.text for s in fake.messages_to(chat)[seen:after(fake, chat, offer)])
    assert title in answer and "out of stock" in answer
    assert offer.buttons[-1]["text"] == "No thanks"
    assert all(len(b["callback_data"].encode()) <= 64 for b in offer.buttons)  # Telegram's limit

    seen = after(fake, chat, offer)
    fake.push_callback(chat, offer.buttons[0]["callback_data"], offer.message_id)
    fake.wait_for(lambda: fake.callback_answers, what="the button press answered")
    fake.wait_for(lambda: [e for e in fake.edited_markups if int(e["message_id"]) == offer.message_id],
                  what="the used keyboard removed")
    chosen_title = offer.buttons[0]["text"].split(" (")[0].split(" - ")[0].rstrip("…")
    chosen = replies_after(fake, chat, seen, lambda s: chosen_title[:20] in s.text)
    assert "in stock" in chosen.text or "left" in chosen.text, chosen.text

    seen = after(fake, chat, chosen)
    fake.push_message(chat, f"let me know when {stock.sku} is back in stock")
    subscribed = replies_after(fake, chat, seen, lambda s: "message you here as soon as" in s.text)
    with UnitOfWork(servers.database_url) as uow:
        sub = uow.session.execute(select(RestockSubscription).where(
            RestockSubscription.recipient == str(chat),
            RestockSubscription.status == SubscriptionStatus.ACTIVE)).scalar_one()
        assert sub.channel == "telegram" and sub.product_id == pid

    # Stock arrives: the alert reaches this chat through the outbox and the Telegram sender.
    seen = after(fake, chat, subscribed)
    restock(servers.database_url, stock.sku)
    alert = replies_after(fake, chat, seen, lambda s: title in s.text, timeout=90)
    assert alert.text.startswith(f"Good news: {title}") and "is back in stock. One is held for you until" in alert.text


def test_deep_link_stop_and_unknown_command(telegram):
    fake, servers = telegram
    chat = 910_002
    pid, title, stock = out_of_stock_with_substitutes(servers.database_url)
    fake.push_message(chat, f"/start {stock.sku}")
    answer = replies_after(fake, chat, 0, lambda s: title in s.text)
    assert "out of stock" in answer.text

    fake.push_message(chat, f"notify me when {stock.sku} is back")
    subscribed = replies_after(fake, chat, after(fake, chat, answer), lambda s: "message you here as soon as" in s.text)
    with UnitOfWork(servers.database_url) as uow:
        assert uow.session.execute(select(RestockSubscription.status).where(
            RestockSubscription.recipient == str(chat))).scalars().all() == ["active"]

    fake.push_message(chat, "/stop")
    stopped = replies_after(fake, chat, after(fake, chat, subscribed), lambda s: s.text.startswith("Done."))
    assert "1 back-in-stock alert stopped" in stopped.text
    with UnitOfWork(servers.database_url) as uow:
        assert uow.session.execute(select(RestockSubscription.status).where(
            RestockSubscription.recipient == str(chat))).scalars().all() == ["cancelled"]

    fake.push_message(chat, "/frobnicate")
    unknown = replies_after(fake, chat, after(fake, chat, stopped), lambda s: "don't know that command" in s.text)
    assert "/help" in unknown.text
    fake.push_message(chat, "/help")
    assert "/stop" in replies_after(fake, chat, after(fake, chat, unknown), lambda s: "Ask me things like" in s.text).text


def test_a_chat_that_blocked_the_bot_is_reachable_again_after_start(telegram):
    fake, servers = telegram
    chat = 910_004
    customer_for_identity(UnitOfWork(servers.database_url), Channel.TELEGRAM, str(chat))
    mark_unreachable(UnitOfWork(servers.database_url), Channel.TELEGRAM, str(chat))

    def unreachable_at():
        with UnitOfWork(servers.database_url) as uow:
            return uow.session.execute(select(ChannelIdentity.unreachable_at).where(
                ChannelIdentity.channel == Channel.TELEGRAM, ChannelIdentity.external_id == str(chat))).scalar_one()

    assert unreachable_at() is not None
    fake.push_message(chat, "/start")
    replies_after(fake, chat, 0, lambda s: s.text.startswith("Hi!"))
    assert unreachable_at() is None


def test_one_chats_messages_are_answered_in_order(telegram):
    fake, _ = telegram
    chat = 910_003
    for text in ("hi", "what's your refund policy?", "bye"):
        fake.push_message(chat, text)
    replies_after(fake, chat, 0, lambda s: s.text.startswith("Bye"))
    texts = [s.text for s in fake.messages_to(chat)]
    assert len(texts) == 3, texts
    assert texts[0].startswith("Hi!") and texts[1].startswith("Refunds:") and texts[2].startswith("Bye")


def test_a_forged_webhook_call_is_refused(tmp_path):
    port = free_port()
    with FakeTelegram(check_limits=False) as fake:
        env = dict(os.environ, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_BASE_URL=fake.base_url,
                   TELEGRAM_MODE="webhook", TELEGRAM_WEBHOOK_URL="https://shop.example/telegram",
                   TELEGRAM_WEBHOOK_SECRET="s3cret-token", TELEGRAM_WEBHOOK_PORT=str(port),
                   TELEGRAM_BRIDGE_SECRET="bridge", RASA_URL=f"http://127.0.0.1:{free_port()}",  # Rasa is down
                   DATABASE_URL=f"sqlite:///{tmp_path}/catalog.db", PYTHONPATH=str(ROOT))
        log = (tmp_path / "bridge.log").open("w")
        proc = subprocess.Popen([sys.executable, "-m", "bot.telegram.bridge"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            hook = fake.wait_for(lambda: fake.webhook, timeout=60, what="setWebhook")
            assert hook["url"] == "https://shop.example/telegram" and hook["secret_token"] == "s3cret-token"
            url = f"http://127.0.0.1:{port}/telegram"
            _wait_listening(url)
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "guess"}):
                assert _post(url, fake.update_json(920_001, "hi"), headers) == 403
            assert _post(url, fake.update_json(920_002, "hi"), {"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}) == 200
            # The genuine update is handled: Rasa is down, so the shopper gets an apology, not silence.
            apology = fake.wait_for(lambda: fake.messages_to(920_002), what="the apology")[0]
            assert apology.text == ASSISTANT_DOWN
            assert fake.messages_to(920_001) == []  # the forged ones (refused before the genuine one) did nothing
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _post(url: str, body: dict, headers: dict) -> int:
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def _wait_listening(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answers (GET is not allowed), so it listens
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"webhook not listening on {url}")
