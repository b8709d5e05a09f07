"""The Telegram bridge end to end: python-telegram-bot against a local Bot API server
(tests/fake_telegram.py), with the real Rasa and action servers behind it (scripts/serve.sh
starts the bridge and the Telegram sender when a token is set)."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from sqlalchemy import select

from catalog.db.orm import Product, RestockSubscription
from catalog.domain.stock import Outlook, outlook_for
from catalog.uow import UnitOfWork
from tests.fake_telegram import FakeTelegram
from tests.servers import ROOT, copy_sqlite, free_port, running


@pytest.fixture(scope="module")
def telegram(seeded_sqlite, tmp_path_factory):
    db = tmp_path_factory.mktemp("tg") / "catalog.db"
    copy_sqlite(seeded_sqlite, db)
    url = f"sqlite:///{db}"
    with FakeTelegram(check_limits=False) as fake:
        env = {"TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_BASE_URL": fake.base_url}
        with running(url, tmp_path_factory.mktemp("tg-logs") / "servers.log", extra_env=env) as servers:
            servers.database_url = url
            fake.wait_for(lambda: fake.calls["getUpdates"] > 0, timeout=120, what="the bridge to poll")
            yield fake, servers


def out_of_stock_with_substitutes(url: str):
    from catalog.services.substitutes import find_substitutes

    with UnitOfWork(url) as uow:
        rows = uow.session.execute(select(Product.id, Product.title).order_by(Product.id)).all()
        stocks = {pid: uow.catalog.variant_stock(pid) for pid, _ in rows}
    for pid, title in rows:
        if len(stocks[pid]) != 1 or stocks[pid][0].available > 0:
            continue
        if outlook_for(stocks[pid][0], dt.date.today(), 5).outlook is Outlook.OTHER_SUPPLIER:
            continue
        if [s for s in find_substitutes(UnitOfWork(url), stocks[pid][0].sku, k=3) if not s.same_item]:
            return pid, title, stocks[pid][0]
    raise AssertionError("no out-of-stock product with substitutes")


def replies_after(fake: FakeTelegram, chat: int, count: int, predicate=lambda s: True, timeout: float = 60):
    """The first message to `chat` after the first `count` that matches `predicate`."""
    return fake.wait_for(lambda: next((s for s in fake.messages_to(chat)[count:] if predicate(s)), None),
                         timeout=timeout, what=f"a reply in chat {chat}")


def settled(fake: FakeTelegram, chat: int, quiet: float = 1.5) -> int:
    """How many messages the chat has once the bot has finished answering (one answer can
    be several messages, e.g. a stock answer and then suggestions)."""
    count, since = len(fake.messages_to(chat)), time.monotonic()
    while time.monotonic() - since < quiet:
        time.sleep(0.1)
        if len(fake.messages_to(chat)) != count:
            count, since = len(fake.messages_to(chat)), time.monotonic()
    return count


def test_start_stock_question_substitute_button_and_restock_alert(telegram):
    fake, servers = telegram
    chat = 910_001
    fake.push_message(chat, "/start")
    greeting = replies_after(fake, chat, 0)
    assert "in stock" in greeting.text and greeting.params["parse_mode"] == "MarkdownV2"

    pid, title, stock = out_of_stock_with_substitutes(servers.database_url)
    seen = settled(fake, chat)
    fake.push_message(chat, f"is {stock.sku} in stock?")
    offer = replies_after(fake, chat, seen, lambda s: len(s.buttons) >= 2)
    answer = " ".join(s.text for s in fake.messages_to(chat)[seen:])
    assert title in answer and "out of stock" in answer
    assert offer.buttons[-1]["text"] == "No thanks"
    assert all(len(b["callback_data"].encode()) <= 64 for b in offer.buttons)  # Telegram's limit

    seen = settled(fake, chat)
    fake.push_callback(chat, offer.buttons[0]["callback_data"], offer.message_id)
    fake.wait_for(lambda: fake.callback_answers, what="the button press answered")
    fake.wait_for(lambda: [e for e in fake.edited_markups if int(e["message_id"]) == offer.message_id],
                  what="the used keyboard removed")
    chosen = replies_after(fake, chat, seen)
    chosen_title = offer.buttons[0]["text"].split(" (")[0].split(" - ")[0]
    assert chosen_title[:20] in chosen.text and ("in stock" in chosen.text or "left" in chosen.text), chosen.text

    seen = settled(fake, chat)
    fake.push_message(chat, f"let me know when {stock.sku} is back in stock")
    replies_after(fake, chat, seen, lambda s: "message you here as soon as" in s.text)
    with UnitOfWork(servers.database_url) as uow:
        sub = uow.session.execute(select(RestockSubscription).where(
            RestockSubscription.recipient == str(chat), RestockSubscription.status == "active")).scalar_one()
        assert sub.channel == "telegram" and sub.product_id == pid

    # Stock arrives: the alert reaches this chat through the outbox and the Telegram sender.
    seen = settled(fake, chat)
    receive = subprocess.run([sys.executable, "-m", "catalog", "import", str(_restock_file(servers, stock.sku))],
                             cwd=ROOT, env=dict(os.environ, DATABASE_URL=servers.database_url),
                             capture_output=True, text=True, timeout=120)
    assert receive.returncode == 0, receive.stderr
    alert = replies_after(fake, chat, seen, lambda s: title in s.text, timeout=90)
    assert "back in stock" in alert.text.lower() or "is back" in alert.text.lower(), alert.text


def _restock_file(servers, sku: str):
    """A one-row catalog file that raises the sku's on-hand stock (what a merchant imports)."""
    import csv
    import tempfile

    with UnitOfWork(servers.database_url) as uow:
        p = uow.catalog.products([uow.catalog.product_id_for_sku(sku)])[0]
        price = next(v.price for v in uow.catalog.sellable_variants([p.id])[p.id] if v.sku == sku)
    path = tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, newline="")
    with path:
        writer = csv.writer(path)
        writer.writerow(["sku", "title", "brand", "description", "category", "price", "on_hand"])
        writer.writerow([sku, p.title, p.brand or "", p.description, p.category, str(price), "5"])
    return path.name


def test_deep_link_stop_and_unknown_command(telegram):
    fake, servers = telegram
    chat = 910_002
    pid, title, stock = out_of_stock_with_substitutes(servers.database_url)
    fake.push_message(chat, f"/start {stock.sku}")
    assert title in replies_after(fake, chat, 0).text

    seen = settled(fake, chat)
    fake.push_message(chat, f"notify me when {stock.sku} is back")
    replies_after(fake, chat, seen, lambda s: "message you here as soon as" in s.text)
    with UnitOfWork(servers.database_url) as uow:
        assert uow.session.execute(select(RestockSubscription.status).where(
            RestockSubscription.recipient == str(chat))).scalars().all() == ["active"]

    seen = settled(fake, chat)
    fake.push_message(chat, "/stop")
    assert "1 back-in-stock alert stopped" in replies_after(fake, chat, seen).text
    with UnitOfWork(servers.database_url) as uow:
        assert uow.session.execute(select(RestockSubscription.status).where(
            RestockSubscription.recipient == str(chat))).scalars().all() == ["cancelled"]

    seen = settled(fake, chat)
    fake.push_message(chat, "/frobnicate")
    assert "/help" in replies_after(fake, chat, seen).text
    seen = settled(fake, chat)
    fake.push_message(chat, "/help")
    assert "/stop" in replies_after(fake, chat, seen).text


def test_one_chats_messages_are_answered_in_order(telegram):
    fake, _ = telegram
    chat = 910_003
    for text in ("hi", "what's your refund policy?", "bye"):
        fake.push_message(chat, text)
    fake.wait_for(lambda: len(fake.messages_to(chat)) >= 3, what="three replies")
    settled(fake, chat)
    texts = [s.text for s in fake.messages_to(chat)]
    assert texts[0].startswith("Hi!") and "refund" in " ".join(texts[1:-1]).lower() and texts[-1].startswith("Bye")


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
            assert apology.text.startswith("Sorry") and "again in a few minutes" in apology.text
            time.sleep(1)
            assert fake.messages_to(920_001) == []  # the forged ones did nothing
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
