"""Custom actions with real Tracker objects over the seeded demo store.

Expected answers are computed from the database (not hard-coded), so the tests check
that what the shopper reads is what the database says at the moment of asking. The
demo store is seeded as of `TODAY`, the day the actions answer for, so nothing here
depends on the calendar date the tests run on.
"""
from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import runtime
from actions.policy import ActionAnswerPolicy
from actions.stock import ActionAnswerStock
from catalog.config import low_stock_threshold
from catalog.db.orm import Product, Variant
from catalog.demo_data import build_demo_store
from catalog.domain.products import ProductInfo
from catalog.domain.stock import Outlook, StockOutlook, VariantStock, outlook_for
from catalog.policy import shared_store
from catalog.uow import UnitOfWork
from catalog.wording import conversation
from catalog.wording.errors import TECHNICAL_PROBLEM
from catalog.wording.format import day, money, product_name
from tests.conftest import TODAY
from tests.servers import copy_sqlite


@pytest.fixture(scope="module")
def module_db(seeded_sqlite, tmp_path_factory) -> str:
    """This module's copy of the demo store (with its search indexes): the session's stays untouched."""
    return copy_sqlite(seeded_sqlite, tmp_path_factory.mktemp("actions") / "catalog.db")


@pytest.fixture(autouse=True)
def catalog_db(module_db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", module_db)
    runtime.resolver.cache_clear()
    shared_store.cache_clear()
    yield module_db
    runtime.resolver.cache_clear()
    shared_store.cache_clear()


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


@dataclass(frozen=True)
class Found:
    product: ProductInfo
    stock: VariantStock
    outlook: StockOutlook

    @property
    def name(self) -> str:
        return product_name(self.product.title, self.product.brand)


def variants_by_outlook(kind: Outlook, single: bool = True) -> list[Found]:
    """Variants of the demo store whose outlook today is `kind`, read from the database."""
    found = []
    with UnitOfWork() as uow:
        for product in uow.catalog.products():
            stocks = uow.catalog.variant_stock(product.id)
            if single and len(stocks) != 1:
                continue
            for s in stocks:
                o = outlook_for(s, TODAY, low_stock_threshold())
                if o.outlook is kind:
                    found.append(Found(product, s, o))
    assert found, f"the demo store has no {kind}"
    return found


def incoming_with_a_date() -> Found:
    return next(v for v in variants_by_outlook(Outlook.INCOMING) if v.outlook.restock_date and not v.outlook.overdue)


def test_sku_answers_from_the_database_and_remembers_the_product():
    v = variants_by_outlook(Outlook.IN_STOCK)[0]
    messages, events = run(ActionAnswerStock(), tracker(f"is {v.stock.sku} in stock?", entities=[]))
    assert messages[0]["text"] == (f"Yes, the {v.name} is in stock ({v.outlook.available} available) at "
                                   f"{money(v.stock.price, v.stock.currency)}.")
    assert slot(events, "product_sku") == v.stock.sku


def test_out_of_stock_with_purchase_order_gives_date_and_quantity():
    v = incoming_with_a_date()
    messages, _ = run(ActionAnswerStock(), tracker(f"when is {v.stock.sku} back", intent="ask_restock_date"))
    text = messages[0]["text"]
    assert text.startswith(f"The {v.name} is out of stock right now. ")
    assert f"We expect {v.outlook.restock_qty} more around {day(v.outlook.restock_date, TODAY)}." in text
    assert ("You can pre-order one from that delivery." in text) is v.outlook.can_preorder


def test_the_stock_answer_carries_a_product_card_for_the_widget_and_telegram():
    v = incoming_with_a_date()
    messages, _ = run(ActionAnswerStock(), tracker(f"is {v.stock.sku} in stock?"))
    assert v.product.image_url and messages[0]["custom"] == {
        "type": "product", "sku": v.stock.sku, "title": v.product.title, "brand": v.product.brand or "",
        "price": f"{v.stock.price:.2f}", "currency": v.stock.currency, "image_url": v.product.image_url,
        "stock": f"Out of stock — back around {day(v.outlook.restock_date, TODAY)}",
        "url": f"/products/{v.stock.sku}",
    }
    low = variants_by_outlook(Outlook.LOW_STOCK)[0]
    messages, _ = run(ActionAnswerStock(), tracker(f"do you have {low.stock.sku}"))
    assert messages[0]["custom"]["stock"] == f"Only {low.outlook.available} left"
    assert f"only {low.outlook.available} left of the {low.name}" in messages[0]["text"]


def test_other_supplier_is_offered_with_price_and_lead_time():
    v = variants_by_outlook(Outlook.OTHER_SUPPLIER, single=False)[0]
    alt = v.outlook.alternative
    messages, _ = run(ActionAnswerStock(), tracker(f"{v.stock.sku}?"))
    text = messages[0]["text"]
    assert "is out of stock right now" in text
    assert f"we can get it from {alt.supplier} for {money(alt.price or v.stock.price, alt.currency)}" in text
    assert f"with delivery in about {alt.lead_time_days} days" in text


def test_lead_time_and_no_restock_are_said_plainly():
    v = variants_by_outlook(Outlook.LEAD_TIME, single=False)[0]
    lead = v.outlook.lead_time_days
    messages, _ = run(ActionAnswerStock(), tracker(f"{v.stock.sku} available?"))
    assert (f"our supplier usually restocks it within {lead} days of an order "
            f"(around {day(TODAY + dt.timedelta(days=lead), TODAY)} if we order today)") in messages[0]["text"]
    v = variants_by_outlook(Outlook.NO_RESTOCK, single=False)[0]
    messages, _ = run(ActionAnswerStock(), tracker(f"{v.stock.sku} available?"))
    assert "is out of stock right now. There's no restock planned at the moment." in messages[0]["text"]


def test_low_stock_says_only_n_left():
    v = variants_by_outlook(Outlook.LOW_STOCK, single=False)[0]
    messages, _ = run(ActionAnswerStock(), tracker(f"do you have {v.stock.sku}"))
    assert messages[0]["text"].startswith(f"Yes, but only {v.outlook.available} left of the {v.name}")
    assert money(v.stock.price, v.stock.currency) in messages[0]["text"]


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
    assert f"({color}, size {size})" in text
    if expected > low_stock_threshold():
        assert f"is in stock ({expected} available)" in text
    elif expected > 0:
        assert f"only {expected} left" in text
    else:
        assert "is out of stock right now" in text
    assert (slot(events, "color"), slot(events, "size")) == (color, size)


def test_follow_up_question_uses_the_remembered_product():
    v = incoming_with_a_date()
    messages, events = run(ActionAnswerStock(), tracker("when will it be back?", intent="ask_restock_date",
                                                        slots={"product_sku": v.stock.sku}))
    assert messages[0]["text"].startswith(f"The {v.name} is out of stock right now. ")
    assert f"around {day(v.outlook.restock_date, TODAY)}" in messages[0]["text"]
    assert slot(events, "product_sku") == v.stock.sku


def test_vague_description_asks_which_one_with_buttons():
    messages, events = run(ActionAnswerStock(), tracker("do you have espresso machines?",
                                                        entities=[{"entity": "product", "value": "espresso machines"}]))
    assert messages[0]["text"] == conversation.ASK_WHICH_PRODUCT
    buttons = messages[0]["buttons"]
    assert 2 <= len(buttons) <= 5
    assert all(b["payload"].startswith('/choose_product{"sku": "') for b in buttons)
    skus = [b["payload"].split('"sku": "')[1].rstrip('"}') for b in buttons]
    kinds = build_demo_store(TODAY).kinds  # what each product is, titles with the word or not
    assert all(kinds[sku] == "espresso machine" for sku in skus)
    assert slot(events, "candidate_skus") == skus
    chosen = skus[1]
    with UnitOfWork() as uow:
        product = uow.catalog.product_for_sku(chosen)
    assert buttons[1]["title"] == product_name(product.title, product.brand)[:60]
    messages, events = run(ActionAnswerStock(), tracker(buttons[1]["payload"], intent="choose_product",
                                                        entities=[{"entity": "sku", "value": chosen}]))
    assert product_name(product.title, product.brand) in messages[0]["text"]
    assert slot(events, "product_sku") == chosen and slot(events, "candidate_skus") is None


def test_typo_still_finds_the_product():
    with UnitOfWork() as uow:
        product = uow.session.execute(select(Product).where(Product.title.like("%Yoga Mat%"))).scalars().first()
        title, skus = product.title, {v.sku for v in product.variants}
    typo = title.replace("Yoga", "Yogga").lower()
    messages, _ = run(ActionAnswerStock(), tracker(f"is the {typo} in stock", entities=[{"entity": "product", "value": typo}]))
    offered = {b["payload"].split('"sku": "')[1].rstrip('"}') for b in messages[0].get("buttons", [])}
    assert title in messages[0]["text"] or offered & skus  # by sku: button titles are cut at 60 characters


def test_product_imported_after_start_is_found(catalog_db, tmp_path, monkeypatch):
    from catalog.services.importing import import_file
    from tests.conftest import write_csv

    monkeypatch.setenv("DATABASE_URL", copy_sqlite(catalog_db, tmp_path / "catalog.db"))  # its own copy: it writes
    runtime.resolver.cache_clear()
    resolver = runtime.resolver()
    resolver.refresh(force=True)
    path = write_csv(tmp_path / "new.csv", ["sku", "title", "description", "category", "price", "on_hand"],
                     [["ZZQ-777", "Zephyrine Quartz Hourglass", "A sand timer", "Home > Decor", "19.00", "3"]])
    import_file(UnitOfWork(), path)
    resolver.refresh(force=True)
    messages, events = run(ActionAnswerStock(), tracker("got any zephyrine hourglass?",
                                                        entities=[{"entity": "product", "value": "zephyrine hourglass"}]))
    assert messages[0]["text"] == "Yes, but only 3 left of the Zephyrine Quartz Hourglass, at $19.00."
    assert slot(events, "product_sku") == "ZZQ-777"


@pytest.mark.parametrize("text", ["", "🙂🙂🙂", "x" * 10_000, "<script>alert(1)</script>",
                                  "'; DROP TABLE products; --", "qwzxv plokmn"])
def test_bad_input_gets_a_short_clear_reply(text):
    messages, events = run(ActionAnswerStock(), tracker(text))
    assert len(messages) == 1 and 0 < len(messages[0]["text"]) < 400
    reply = messages[0]["text"]
    assert reply == conversation.ASK_PRODUCT or reply.startswith("Sorry, I couldn't find a product matching") \
        or (reply == conversation.ASK_WHICH_PRODUCT and messages[0]["buttons"]), reply
    assert "<script>" not in reply and "DROP TABLE" not in reply  # never echoed as it was typed
    assert slot(events, "product_sku") == "unset"  # nothing was taken for the product meant


def test_database_down_gives_an_apology_not_silence(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    runtime.resolver.cache_clear()
    monkeypatch.setenv("SEMANTIC_SEARCH", "0")
    messages, events = run(ActionAnswerStock(), tracker("is the trail runner in stock?"))
    assert [m["text"] for m in messages] == [TECHNICAL_PROBLEM] and events == []


def test_policy_answer_comes_from_the_policy_file(tmp_path, monkeypatch):
    messages, events = run(ActionAnswerPolicy(), tracker("what's your refund policy?", intent="ask_policy",
                                                         entities=[{"entity": "policy_topic", "value": "refunds"}]))
    assert messages[0]["text"].startswith("Refunds: ") and slot(events, "policy_topic") == "refunds"
    edited = tmp_path / "policies.yml"
    edited.write_text("topics:\n  refunds:\n    title: Refunds\n    keywords: [refund]\n    answer: Only on Tuesdays.\n")
    monkeypatch.setenv("POLICY_FILE", str(edited))
    shared_store.cache_clear()
    messages, _ = run(ActionAnswerPolicy(), tracker("can I get my money back? refund", intent="ask_policy"))
    assert messages[0]["text"] == "Refunds: Only on Tuesdays."


def test_a_colour_entity_that_is_part_of_the_name_is_ignored():
    with UnitOfWork() as uow:
        products = uow.catalog.products()
    product = next(p for p in products if p.colors and p.title.split()[0].lower() not in {c.lower() for c in p.colors})
    first = product.title.split()[0]
    entities = [{"entity": "color", "value": first, "start": 7},
                {"entity": "product", "value": " ".join(product.title.split()[1:]), "start": 20}]
    messages, events = run(ActionAnswerStock(), tracker(f"is the {product.title} in stock?", entities=entities))
    assert "doesn't come in" not in messages[0]["text"]
    assert product_name(product.title, product.brand) in messages[0]["text"]
    assert slot(events, "color") is None


def fallback_tracker(text: str, leaning: str, confidence: float, events: list[dict] | None = None) -> Tracker:
    """A message the classifier was not sure of: `nlu_fallback`, with its best guess ranked."""
    return Tracker(
        sender_id="shopper-1", slots={},
        latest_message={"text": text, "intent": {"name": "nlu_fallback", "confidence": 0.7}, "entities": [],
                        "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.7},
                                           {"name": leaning, "confidence": confidence},
                                           {"name": "out_of_scope", "confidence": 0.1}]},
        events=events or [], paused=False, followup_action=None, active_loop={}, latest_action_name="action_listen",
    )


def test_unsure_stock_question_naming_a_catalog_product_gets_the_stock_answer():
    from actions.fallback import ActionRecoverFallback

    v = incoming_with_a_date()
    messages, events = run(ActionRecoverFallback(), fallback_tracker(f"{v.name} | {v.stock.sku} when back??",
                                                                     "ask_restock_date", 0.55))
    assert messages[0]["text"].startswith(f"The {v.name} is out of stock right now. ")
    assert f"around {day(v.outlook.restock_date, TODAY)}" in messages[0]["text"]
    assert slot(events, "product_sku") == v.stock.sku


def test_a_bare_product_name_taken_as_out_of_scope_still_gets_the_stock_answer():
    from actions.fallback import ActionRecoverFallback

    v = variants_by_outlook(Outlook.IN_STOCK)[0]
    t = tracker(f"{v.product.title.lower()} any left", intent="out_of_scope")
    messages, events = run(ActionRecoverFallback(), t)
    assert messages[0]["text"].startswith(f"Yes, the {v.name} is in stock")
    assert slot(events, "product_sku") in v.product.variant_skus
    # One of its words in a message about something else is not its name.
    first_word = v.product.title.split()[0]
    messages, _ = run(ActionRecoverFallback(), tracker(f"what is the weather like in {first_word} next weekend for a "
                                                       f"picnic with my cousins", intent="out_of_scope"))
    assert [m.get("response") for m in messages] == ["utter_out_of_scope"]


def test_unsure_message_without_a_product_or_leaning_elsewhere_is_not_answered_as_stock():
    from actions.fallback import ActionRecoverFallback

    v = variants_by_outlook(Outlook.IN_STOCK)[0]
    messages, events = run(ActionRecoverFallback(), fallback_tracker("qwzx vbnm plorf", "check_stock", 0.6))
    assert [m.get("response") for m in messages] == ["utter_default"]
    messages, _ = run(ActionRecoverFallback(), fallback_tracker(f"my {v.name} broke, who covers the warranty repair costs", "out_of_scope", 0.6))
    assert [m.get("response") for m in messages] == ["utter_default"]
    # Not understood twice in a row: ask to rephrase instead of repeating the same words.
    before = [{"event": "bot", "text": "Sorry...", "metadata": {"utter_action": "utter_default"}},
              {"event": "action", "name": "action_listen"}, {"event": "user", "text": "qwzx"}]
    messages, _ = run(ActionRecoverFallback(), fallback_tracker("qwzx", "check_stock", 0.6, before))
    assert [m.get("response") for m in messages] == ["utter_ask_rephrase"]
