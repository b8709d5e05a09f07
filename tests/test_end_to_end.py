"""Both real servers, a seeded database, conversations over Rasa's REST channel."""
from __future__ import annotations

import datetime as dt
import sqlite3
import uuid

import pytest
from sqlalchemy import select

from catalog.db.orm import Product
from catalog.domain.stock import Outlook, outlook_for
from catalog.uow import UnitOfWork
from tests.servers import free_port, running

MODEL = "models/stockout.tar.gz"


@pytest.fixture(scope="module")
def servers(seeded_sqlite, tmp_path_factory):
    db = tmp_path_factory.mktemp("e2e") / "catalog.db"
    copy_sqlite(seeded_sqlite, db)
    with running(f"sqlite:///{db}", tmp_path_factory.mktemp("logs") / "servers.log") as s:
        s.database_url = f"sqlite:///{db}"
        yield s


def copy_sqlite(url: str, target) -> None:
    """SQLite's backup API copies committed pages, including those still in the WAL file."""
    source = sqlite3.connect(url.removeprefix("sqlite:///"))
    dest = sqlite3.connect(target)
    with dest:
        source.backup(dest)
    source.close()
    dest.close()


def texts(messages: list[dict]) -> str:
    return " ".join(m.get("text", "") for m in messages)


def _incoming_product(url: str):
    with UnitOfWork(url) as uow:
        for pid, title in uow.session.execute(select(Product.id, Product.title).order_by(Product.id)):
            stocks = uow.catalog.variant_stock(pid)
            if len(stocks) == 1:
                o = outlook_for(stocks[0], dt.date.today(), 5)
                if o.outlook is Outlook.INCOMING and not o.overdue:
                    return title, stocks[0], o
    raise AssertionError("no single-variant product with an open purchase order")


def test_contract_intents_are_understood(servers):
    examples = {
        "hi there": "greet", "bye, thanks": "goodbye", "am I talking to a robot?": "bot_challenge",
        "do you have the black trail runners in 42?": "check_stock",
        "when will the espresso machine be back?": "ask_restock_date",
        "where is order 100234?": "order_status", "can I speak to a human?": "human_handoff",
        "what's your refund policy?": "ask_policy",
    }
    for text, intent in examples.items():
        assert servers.parse(text)["intent"]["name"] == intent, text
    entities = {e["entity"]: e["value"] for e in servers.parse("do you have the black trail runners in 42?")["entities"]}
    assert entities.get("color") == "black" and entities.get("size") == "42"


def test_stock_conversation_remembers_the_product(servers):
    title, stock, outlook = _incoming_product(servers.database_url)
    sender = f"e2e-{uuid.uuid4().hex[:6]}"
    first = texts(servers.say(sender, f"is {stock.sku} in stock?"))
    assert title in first and "out of stock" in first
    second = texts(servers.say(sender, "ok, when will it be back?"))
    assert f"{outlook.restock_qty} more around" in second


def test_choice_buttons_lead_to_a_stock_answer(servers):
    sender = f"e2e-{uuid.uuid4().hex[:6]}"
    reply = servers.say(sender, "do you have any espresso machines in stock?")
    buttons = [b for m in reply for b in m.get("buttons", [])]
    assert len(buttons) >= 2, reply
    answer = texts(servers.say(sender, buttons[0]["payload"]))
    assert buttons[0]["title"] in answer and ("in stock" in answer or "left" in answer)


def test_greeting_policy_and_handoff_get_answers(servers):
    sender = f"e2e-{uuid.uuid4().hex[:6]}"
    assert texts(servers.say(sender, "hello"))
    assert "Refunds:" in texts(servers.say(sender, "what's your refund policy?"))
    assert texts(servers.say(sender, "I want to talk to a real person"))


@pytest.mark.parametrize("message", ["", "   ", "🙂🙂🙂🙂", "a" * 10_000, "<b>hi</b><script>alert(1)</script>",
                                     "'; DROP TABLE products; --", "asdfgh qwerty zxcvb", "{\"json\": true}"])
def test_bad_input_always_gets_a_reply(servers, message):
    replies = servers.say(f"bad-{uuid.uuid4().hex[:6]}", message)
    assert replies and all(m.get("text") or m.get("buttons") for m in replies)
    assert len(texts(replies)) < 1000
    follow_up = servers.say(f"bad-{uuid.uuid4().hex[:6]}", "hi")  # and the bot still works after it
    assert texts(follow_up)


def test_action_server_down_gets_an_apology(seeded_sqlite, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}/webhook"
    db = tmp_path / "catalog.db"
    copy_sqlite(seeded_sqlite, db)
    with running(f"sqlite:///{db}", tmp_path / "servers.log", action_endpoint=dead) as s:
        reply = texts(s.say("down-1", "is the trail runner in stock?"))
    assert "Sorry" in reply and "try again" in reply


def _preorderable_product(url: str):
    with UnitOfWork(url) as uow:
        for pid, title in uow.session.execute(select(Product.id, Product.title).order_by(Product.id)):
            stocks = uow.catalog.variant_stock(pid)
            if len(stocks) == 1 and stocks[0].preorder_allowed:
                o = outlook_for(stocks[0], dt.date.today(), 5)
                if o.outlook is Outlook.INCOMING and not o.overdue and o.restock_qty >= 2:
                    return title, stocks[0]
    raise AssertionError("no pre-orderable single-variant product")


def _order_with_waiting_line(url: str):
    from catalog.db.orm import Order, OrderLine

    with UnitOfWork(url) as uow:
        order = uow.session.execute(select(Order).join(OrderLine).where(OrderLine.status == "waiting_stock")
                                    .order_by(Order.id.desc())).scalars().first()
        return order.number, order.email


def test_preorder_conversation_confirms_and_tells_the_place_in_line(servers):
    title, stock = _preorderable_product(servers.database_url)
    sender = f"e2e-pre-{uuid.uuid4().hex[:6]}"
    assert "out of stock" in texts(servers.say(sender, f"is {stock.sku} in stock?"))
    asked = texts(servers.say(sender, "can I pre-order it?"))
    assert "How many" in asked, asked
    # A question in the middle of the form is answered, then the form picks up again.
    detour = texts(servers.say(sender, "what's your refund policy?"))
    assert "Refunds:" in detour and "How many" in detour
    summary = servers.say(sender, "2")
    assert "To confirm: pre-order 2 x" in texts(summary) and "#1 in line" in texts(summary)
    done = texts(servers.say(sender, "/affirm"))
    assert "you are #1; due around" in done


def test_stop_leaves_a_form_without_reserving(servers):
    title, stock = _preorderable_product(servers.database_url)
    sender = f"e2e-stop-{uuid.uuid4().hex[:6]}"
    servers.say(sender, f"is {stock.sku} in stock?")
    assert "How many" in texts(servers.say(sender, "I'd like to pre-order it"))
    assert "nothing was reserved" in texts(servers.say(sender, "stop"))
    assert texts(servers.say(sender, "hello"))  # and the conversation carries on normally


def test_order_status_needs_the_right_email(servers):
    number, email = _order_with_waiting_line(servers.database_url)
    sender = f"e2e-ord-{uuid.uuid4().hex[:6]}"
    assert "email" in texts(servers.say(sender, f"where is my order {number}?")).lower()
    refused = texts(servers.say(sender, "it's not.me@example.com"))
    assert "couldn't match" in refused and "waiting for stock" not in refused
    servers.say(sender, number)
    status = texts(servers.say(sender, email))
    assert f"Order {number}:" in status and "waiting for stock" in status
