"""The real servers over the seeded demo store, conversations over Rasa's REST channel."""
from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from catalog.db.orm import Reservation, SubstituteFeedback, Variant
from catalog.uow import UnitOfWork
from catalog.wording.errors import ACTION_SERVER_DOWN
from catalog.wording.format import day
from tests.conftest import TODAY
from tests.demo import incoming, order_with_waiting_line, out_of_stock_with_substitutes, texts
from tests.servers import free_port, rasa_only


@pytest.fixture
def servers(stack):
    return stack


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
    title, stock, outlook = incoming(servers.database_url)
    sender = f"e2e-{uuid.uuid4().hex[:6]}"
    first = texts(servers.say(sender, f"is {stock.sku} in stock?"))
    assert title in first and "out of stock" in first
    second = texts(servers.say(sender, "ok, when will it be back?"))
    assert f"{outlook.restock_qty} more around {day(outlook.restock_date, TODAY)}" in second


def test_choice_buttons_lead_to_a_stock_answer(servers):
    sender = f"e2e-{uuid.uuid4().hex[:6]}"
    reply = servers.say(sender, "do you have any espresso machines in stock?")
    buttons = [b for m in reply for b in m.get("buttons", [])]
    assert len(buttons) >= 2, reply
    answer = texts(servers.say(sender, buttons[0]["payload"]))
    assert buttons[0]["title"] in answer and ("in stock" in answer or "left" in answer)


def test_greeting_policy_and_handoff_get_answers(servers):
    sender = f"e2e-{uuid.uuid4().hex[:6]}"
    assert texts(servers.say(sender, "hello")).startswith("Hi!")
    assert "Refunds:" in texts(servers.say(sender, "what's your refund policy?"))
    handoff = texts(servers.say(sender, "I want to talk to a real person"))
    assert "I've asked a person from our team to take over (ticket #" in handoff


@pytest.mark.parametrize("message", ["", "   ", "🙂🙂🙂🙂", "a" * 10_000, "<b>hi</b><script>alert(1)</script>",
                                     "'; DROP TABLE products; --", "asdfgh qwerty zxcvb", "{\"json\": true}"])
def test_bad_input_always_gets_a_reply(servers, message):
    replies = servers.say(f"bad-{uuid.uuid4().hex[:6]}", message)
    assert replies and all(m.get("text") or m.get("buttons") for m in replies)
    assert len(texts(replies)) < 1000
    assert ACTION_SERVER_DOWN not in texts(replies)  # answered, not an apology for a crash
    follow_up = servers.say(f"bad-{uuid.uuid4().hex[:6]}", "hi")  # and the bot still works after it
    assert texts(follow_up).startswith("Hi!")


@pytest.mark.rasa_alone
def test_action_server_down_gets_an_apology(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}/webhook"
    with rasa_only(dead, tmp_path / "rasa.log") as rasa:
        reply = texts(rasa.say("down-1", "is the trail runner in stock?"))
        assert texts(rasa.say("down-2", "hello")).startswith("Hi!")  # what needs no action still works
    assert reply == ACTION_SERVER_DOWN


def test_preorder_conversation_confirms_and_tells_the_place_in_line(servers):
    title, stock, _ = incoming(servers.database_url, preorderable=True, units=2)
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
    title, stock, _ = incoming(servers.database_url, preorderable=True, units=2)
    sender = f"e2e-stop-{uuid.uuid4().hex[:6]}"
    servers.say(sender, f"is {stock.sku} in stock?")
    assert "How many" in texts(servers.say(sender, "I'd like to pre-order it"))
    assert "nothing was reserved" in texts(servers.say(sender, "stop"))
    assert texts(servers.say(sender, "hello")).startswith("Hi!")  # and the conversation carries on normally
    with UnitOfWork(servers.database_url) as uow:
        assert not uow.session.execute(select(Reservation.id).join(Variant, Reservation.variant_id == Variant.id)
                                       .where(Variant.sku == stock.sku, Reservation.idempotency_key.like(
                                           f"chat:{sender}:%"))).first()


def test_order_status_needs_the_right_email(servers):
    number, email = order_with_waiting_line(servers.database_url)
    sender = f"e2e-ord-{uuid.uuid4().hex[:6]}"
    assert "email" in texts(servers.say(sender, f"where is my order {number}?")).lower()
    refused = texts(servers.say(sender, "it's not.me@example.com"))
    assert "couldn't match" in refused and "waiting for stock" not in refused
    servers.say(sender, number)
    status = texts(servers.say(sender, email))
    assert f"Order {number}:" in status and "waiting for stock" in status


def _feedback(url: str, sender: str) -> list[tuple]:
    with UnitOfWork(url) as uow:
        return [tuple(r) for r in uow.session.execute(
            select(SubstituteFeedback.sku, SubstituteFeedback.substitute_sku, SubstituteFeedback.accepted)
            .where(SubstituteFeedback.conversation_id == sender).order_by(SubstituteFeedback.id))]


def _sku(button: dict) -> str:
    return json.loads(button["payload"][button["payload"].index("{"):])["sku"]


def test_substitute_button_leads_to_its_stock_answer_and_is_recorded(servers):
    _, title, stock = out_of_stock_with_substitutes(servers.database_url)
    sender = f"e2e-sub-{uuid.uuid4().hex[:6]}"
    reply = servers.say(sender, f"is {stock.sku} in stock?")
    assert title in texts(reply) and "out of stock" in texts(reply)
    buttons = [b for m in reply for b in m.get("buttons", [])]
    assert buttons[-1] == {"title": "No thanks", "payload": "/deny"}, reply
    assert len(buttons) >= 2 and all(b["payload"].startswith("/choose_substitute{") for b in buttons[:-1])
    chosen = _sku(buttons[0])
    with UnitOfWork(servers.database_url) as uow:
        chosen_title = uow.catalog.products([uow.catalog.product_id_for_sku(chosen)])[0].title
    answer = texts(servers.say(sender, buttons[0]["payload"]))
    assert chosen_title in answer and ("in stock" in answer or "left" in answer), answer
    assert _feedback(servers.database_url, sender) == [(stock.sku, chosen, True)]
    # The chosen item is now the one the conversation is about.
    assert chosen_title in texts(servers.say(sender, "is it still available?"))


def test_no_thanks_to_substitutes_is_recorded_and_a_later_no_is_just_a_no(servers):
    _, title, stock = out_of_stock_with_substitutes(servers.database_url)
    sender = f"e2e-nosub-{uuid.uuid4().hex[:6]}"
    reply = servers.say(sender, f"do you have {stock.sku}?")
    offered = [_sku(b) for m in reply for b in m.get("buttons", []) if b["payload"].startswith("/choose_substitute")]
    assert offered, reply
    declined = servers.say(sender, "/deny")
    assert "No problem" in texts(declined) and any(b["payload"].startswith("/subscribe_restock")
                                                  for m in declined for b in m.get("buttons", []))
    assert _feedback(servers.database_url, sender) == [(stock.sku, sku, False) for sku in offered]
    assert "anything else" in texts(servers.say(sender, "/deny"))
    assert len(_feedback(servers.database_url, sender)) == len(offered)


def test_pre_order_of_a_product_with_variants_asks_which_variant_once(servers):
    with UnitOfWork(servers.database_url) as uow:
        products = uow.catalog.products()
    titles = [p.title for p in products]
    product = next(p for p in products if len(p.variant_skus) > 3 and p.colors and titles.count(p.title) == 1)
    sender = f"e2e-var-{uuid.uuid4().hex[:6]}"
    # The product chosen from "which one do you mean?" buttons, then the pre-order asked for.
    assert product.title in texts(servers.say(sender, "/choose_product" + json.dumps({"sku": product.variant_skus[0]})))
    reply = servers.say(sender, "can I pre-order it?")
    questions = [m for m in reply if m.get("text")]
    assert len(questions) == 1 and "would you like to reserve" in questions[0]["text"], reply
    assert product.title in questions[0]["text"]
    buttons = questions[0].get("buttons") or []
    assert len(buttons) >= 2 and {_sku(b) for b in buttons} <= set(product.variant_skus)
    after = texts(servers.say(sender, buttons[0]["payload"]))
    assert after and "would you like to reserve" not in after
