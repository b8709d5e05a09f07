"""Custom actions with real Tracker objects over the seeded demo store.

Expected answers are computed from the database (not hard-coded), so the tests check
that what the shopper reads is what the database says at the moment of asking.
"""
from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import runtime
from actions.handoff import ActionPassToTeam
from actions.policy import ActionAnswerPolicy
from actions.replies import TECHNICAL_PROBLEM, day
from actions.stock import ActionAnswerStock
from catalog.db.orm import Product, Variant
from catalog.domain.stock import Outlook, outlook_for
from catalog.uow import UnitOfWork


@pytest.fixture(autouse=True)
def catalog_db(seeded_sqlite, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", seeded_sqlite)
    runtime.resolver.cache_clear()
    runtime.policies.cache_clear()
    yield seeded_sqlite
    runtime.resolver.cache_clear()


def tracker(text: str, intent: str = "check_stock", entities: list[dict] | None = None,
            slots: dict | None = None, sender: str = "shopper-1") -> Tracker:
    return Tracker(
        sender_id=sender, slots=slots or {},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": entities or []},
        events=[], paused=False, followup_action=None, active_loop={}, latest_action_name="action_listen",
    )


def run(action, t: Tracker) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, {}))
    return dispatcher.messages, events


def slot(events: list[dict], name: str):
    return next((e["value"] for e in events if e.get("event") == "slot" and e.get("name") == name), "unset")


def variants_by_outlook(kind: Outlook, single: bool = True):
    """Variants of the demo store whose current outlook is `kind`, read from the database."""
    found = []
    with UnitOfWork() as uow:
        products = uow.session.execute(select(Product.id, Product.title)).all()
        for pid, title in products:
            stocks = uow.catalog.variant_stock(pid)
            if single and len(stocks) != 1:
                continue
            for s in stocks:
                o = outlook_for(s, dt.date.today(), 5)
                if o.outlook is kind:
                    found.append((title, s, o))
    assert found, f"the demo store has no {kind}"
    return found


def test_sku_answers_from_the_database_and_remembers_the_product():
    title, stock, outlook = variants_by_outlook(Outlook.IN_STOCK)[0]
    messages, events = run(ActionAnswerStock(), tracker(f"is {stock.sku} in stock?", entities=[]))
    assert f"{outlook.available} available" in messages[0]["text"]
    assert title in messages[0]["text"]
    assert slot(events, "product_sku") == stock.sku


def test_out_of_stock_with_purchase_order_gives_date_and_quantity():
    title, stock, outlook = next(v for v in variants_by_outlook(Outlook.INCOMING) if not v[2].overdue)
    messages, _ = run(ActionAnswerStock(), tracker(f"when is {stock.sku} back", intent="ask_restock_date"))
    text = messages[0]["text"]
    assert "out of stock" in text
    assert f"{outlook.restock_qty} more around {day(outlook.restock_date, dt.date.today())}" in text


def test_the_stock_answer_carries_a_product_card_for_the_widget_and_telegram():
    title, stock, outlook = next(v for v in variants_by_outlook(Outlook.INCOMING) if not v[2].overdue)
    messages, _ = run(ActionAnswerStock(), tracker(f"is {stock.sku} in stock?"))
    with UnitOfWork() as uow:
        image = uow.catalog.products([uow.catalog.product_id_for_sku(stock.sku)])[0].image_url
    assert image and messages[0]["custom"] == {
        "type": "product", "sku": stock.sku, "title": title, "brand": messages[0]["custom"]["brand"],
        "price": f"{stock.price:.2f}", "currency": stock.currency, "image_url": image,
        "stock": f"Out of stock — back around {day(outlook.restock_date, dt.date.today())}",
        "url": f"/products/{stock.sku}",
    }
    _, low, o = variants_by_outlook(Outlook.LOW_STOCK)[0]
    messages, _ = run(ActionAnswerStock(), tracker(f"do you have {low.sku}"))
    assert messages[0]["custom"]["stock"] == f"Only {o.available} left" and "only" in messages[0]["text"]


def test_other_supplier_is_offered_with_price_and_lead_time():
    title, stock, outlook = variants_by_outlook(Outlook.OTHER_SUPPLIER, single=False)[0]
    messages, _ = run(ActionAnswerStock(), tracker(f"{stock.sku}?"))
    assert outlook.alternative.supplier in messages[0]["text"]
    assert f"about {outlook.alternative.lead_time_days} days" in messages[0]["text"]


def test_lead_time_and_no_restock_are_said_plainly():
    _, stock, outlook = variants_by_outlook(Outlook.LEAD_TIME, single=False)[0]
    messages, _ = run(ActionAnswerStock(), tracker(f"{stock.sku} available?"))
    assert f"within {outlook.lead_time_days} days" in messages[0]["text"]
    _, stock, _ = variants_by_outlook(Outlook.NO_RESTOCK, single=False)[0]
    messages, _ = run(ActionAnswerStock(), tracker(f"{stock.sku} available?"))
    assert "no restock planned" in messages[0]["text"]


def test_low_stock_says_only_n_left():
    _, stock, outlook = variants_by_outlook(Outlook.LOW_STOCK, single=False)[0]
    messages, _ = run(ActionAnswerStock(), tracker(f"do you have {stock.sku}"))
    assert f"only {outlook.available} left" in messages[0]["text"]


def test_variant_question_is_answered_for_that_size_and_colour():
    with UnitOfWork() as uow:
        variant = uow.session.execute(
            select(Variant).where(Variant.size.is_not(None), Variant.color.is_not(None)).order_by(Variant.id)).scalars().first()
        product = variant.product
        stocks = {s.sku: s for s in uow.catalog.variant_stock(product.id)}
        title, color, size, sku = product.title, variant.color, variant.size, variant.sku
    expected = stocks[sku].available
    entities = [{"entity": "product", "value": title}, {"entity": "color", "value": color},
                {"entity": "size", "value": size}]
    messages, events = run(ActionAnswerStock(), tracker(f"do you have the {title} in {color} size {size}?", entities=entities))
    text = messages[0]["text"]
    assert f"{color}, size {size}" in text
    assert (f"{expected} available" in text or f"only {expected} left" in text) if expected else "out of stock" in text
    assert (slot(events, "color"), slot(events, "size")) == (color, size)


def test_follow_up_question_uses_the_remembered_product():
    _, stock, outlook = next(v for v in variants_by_outlook(Outlook.INCOMING) if not v[2].overdue)
    messages, _ = run(ActionAnswerStock(), tracker("when will it be back?", intent="ask_restock_date",
                                                   slots={"product_sku": stock.sku}))
    assert day(outlook.restock_date, dt.date.today()) in messages[0]["text"]


def test_vague_description_asks_which_one_with_buttons():
    messages, events = run(ActionAnswerStock(), tracker("do you have espresso machines?",
                                                        entities=[{"entity": "product", "value": "espresso machines"}]))
    buttons = messages[0]["buttons"]
    assert 2 <= len(buttons) <= 5
    assert all(b["payload"].startswith('/choose_product{"sku": "') for b in buttons)
    assert all("Espresso" in b["title"] for b in buttons)
    chosen = buttons[1]["payload"].split('"sku": "')[1].rstrip('"}')
    messages, events = run(ActionAnswerStock(), tracker(buttons[1]["payload"], intent="choose_product",
                                                        entities=[{"entity": "sku", "value": chosen}]))
    assert buttons[1]["title"].split()[-1] in messages[0]["text"] and slot(events, "product_sku") == chosen


def test_typo_still_finds_the_product():
    with UnitOfWork() as uow:
        title = uow.session.execute(select(Product.title).where(Product.title.like("%Yoga Mat%"))).scalars().first()
    typo = title.replace("Yoga", "Yogga").lower()
    messages, _ = run(ActionAnswerStock(), tracker(f"is the {typo} in stock", entities=[{"entity": "product", "value": typo}]))
    assert title in messages[0]["text"] or any(title in b["title"] for b in messages[0].get("buttons", []))


def test_product_imported_after_start_is_found(tmp_path):
    from catalog.services.importing import import_file
    from tests.conftest import write_csv

    resolver = runtime.resolver()
    resolver.refresh(force=True)
    path = write_csv(tmp_path / "new.csv", ["sku", "title", "description", "category", "price", "on_hand"],
                     [["ZZQ-777", "Zephyrine Quartz Hourglass", "A sand timer", "Home > Decor", "19.00", "3"]])
    import_file(UnitOfWork(), path)
    resolver.refresh(force=True)
    messages, _ = run(ActionAnswerStock(), tracker("got any zephyrine hourglass?",
                                                   entities=[{"entity": "product", "value": "zephyrine hourglass"}]))
    assert "Zephyrine Quartz Hourglass" in messages[0]["text"] and "only 3 left" in messages[0]["text"]


@pytest.mark.parametrize("text", ["", "🙂🙂🙂", "x" * 10_000, "<script>alert(1)</script>",
                                  "'; DROP TABLE products; --", "qwzxv plokmn"])
def test_bad_input_gets_a_short_clear_reply(text):
    messages, events = run(ActionAnswerStock(), tracker(text))
    assert len(messages) == 1 and 0 < len(messages[0]["text"]) < 400
    assert "<script>" not in messages[0]["text"] or "couldn't find" in messages[0]["text"]


def test_database_down_gives_an_apology_not_silence(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    runtime.resolver.cache_clear()
    monkeypatch.setenv("SEMANTIC_SEARCH", "0")
    messages, events = run(ActionAnswerStock(), tracker("is the trail runner in stock?"))
    assert [m["text"] for m in messages] == [TECHNICAL_PROBLEM] and events == []


def test_policy_answer_comes_from_the_policy_file(tmp_path, monkeypatch):
    messages, events = run(ActionAnswerPolicy(), tracker("what's your refund policy?", intent="ask_policy",
                                                         entities=[{"entity": "policy_topic", "value": "refunds"}]))
    assert messages[0]["text"].startswith("Refunds:") and slot(events, "policy_topic") == "refunds"
    edited = tmp_path / "policies.yml"
    edited.write_text("topics:\n  refunds:\n    title: Refunds\n    keywords: [refund]\n    answer: Only on Tuesdays.\n")
    monkeypatch.setenv("POLICY_FILE", str(edited))
    runtime.policies.cache_clear()
    messages, _ = run(ActionAnswerPolicy(), tracker("can I get my money back? refund", intent="ask_policy"))
    assert messages[0]["text"] == "Refunds: Only on Tuesdays."


def test_pass_to_team_names_the_request():
    messages, events = run(ActionPassToTeam(), tracker("cancel it", intent="cancel_order", slots={"order_id": "100234"}))
    assert "cancel order 100234" in messages[0]["text"] and "passing your request to our team" in messages[0]["text"]
    assert events == []


def test_a_colour_entity_that_is_part_of_the_name_is_ignored():
    with UnitOfWork() as uow:
        products = uow.catalog.products()
    product = next(p for p in products if p.colors and p.title.split()[0].lower() not in {c.lower() for c in p.colors})
    first = product.title.split()[0]
    entities = [{"entity": "color", "value": first, "start": 7},
                {"entity": "product", "value": " ".join(product.title.split()[1:]), "start": 20}]
    messages, events = run(ActionAnswerStock(), tracker(f"is the {product.title} in stock?", entities=entities))
    assert "doesn't come in" not in messages[0]["text"]
    assert slot(events, "color") is None
