"""Substitute suggestions in the conversation, with real Tracker objects over the demo store.

Each test gets its own copy of the seeded database (feedback rows are written) with the
substitutes index built beside it when the demo store was seeded. What a test expects is
read from the database and the substitutes service, not hard-coded; the store is seeded
as of `TODAY`, so no test depends on the calendar date it runs on.
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import runtime
from actions.preorder import ActionAskPreorderSku, ValidatePreorderForm
from actions.stock import ActionAnswerStock
from actions.substitutes import (
    ActionChooseSubstitute,
    ActionDeclineSubstitutes,
    ActionOfferSubstitutes,
)
from catalog.config import low_stock_threshold
from catalog.db.orm import SubstituteFeedback, Variant
from catalog.domain.stock import Outlook, outlook_for
from catalog.domain.substitutes import Reason
from catalog.services.stock import check_stock
from catalog.services.substitutes import Substitute, find_substitutes
from catalog.uow import UnitOfWork
from catalog.wording import substitutes as says
from catalog.wording.format import day, product_name
from catalog.wording.preorders import ASK_PRODUCT
from tests.conftest import ROOT, TODAY
from tests.servers import copy_sqlite


@pytest.fixture(autouse=True)
def own_db(seeded_sqlite, tmp_path, monkeypatch):
    """A copy of the demo store with its search and substitutes indexes (built with the seed)."""
    monkeypatch.setenv("DATABASE_URL", copy_sqlite(seeded_sqlite, tmp_path / "catalog.db"))
    monkeypatch.setenv("SEMANTIC_SEARCH", "0")  # product names by fuzzy match and SKU; substitutes use their index
    runtime.resolver.cache_clear()
    yield
    runtime.resolver.cache_clear()


def tracker(text: str, intent: str, entities: list[dict] | None = None, slots: dict | None = None,
            sender: str | None = None) -> Tracker:
    return Tracker(sender_id=sender or f"t-{uuid.uuid4().hex[:8]}", slots=dict(slots or {}),
                   latest_message={"text": text, "intent": {"name": intent, "confidence": 1.0},
                                   "entities": entities or []},
                   events=[{"event": "user", "text": text, "input_channel": "rest"}], paused=False,
                   followup_action=None, active_loop={}, latest_action_name="action_listen")


def run(action, t: Tracker) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, {}))
    return dispatcher.messages, events


def slots_of(events: list[dict]) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def sku_of(button: dict) -> str:
    return json.loads(button["payload"][button["payload"].index("{"):])["sku"]


def feedback() -> list[tuple]:
    with UnitOfWork() as uow:
        return [tuple(r) for r in uow.session.execute(
            select(SubstituteFeedback.sku, SubstituteFeedback.substitute_sku, SubstituteFeedback.accepted,
                   SubstituteFeedback.conversation_id).order_by(SubstituteFeedback.id))]


def choose(sku: str, slots: dict, sender: str) -> tuple[list[dict], list[dict]]:
    payload = "/choose_substitute" + json.dumps({"sku": sku})
    return run(ActionChooseSubstitute(), tracker(payload, "choose_substitute", [{"entity": "sku", "value": sku}],
                                                 slots, sender))


def out_of_stock_with_substitutes():
    """(product, wanted sku): a product with nothing available, whose stock answer offers
    substitutes other than the same item from another supplier."""
    with UnitOfWork() as uow:
        products = uow.catalog.products()
    for product in products:
        if len(product.variant_skus) != 1:
            continue
        report = check_stock(UnitOfWork(), product, TODAY)
        if report.best.stock.available > 0 or report.best.outlook.outlook is Outlook.OTHER_SUPPLIER:
            continue
        if [s for s in find_substitutes(UnitOfWork(), report.best.stock.sku, k=3) if not s.same_item]:
            return product, report.best.stock.sku
    raise AssertionError("no out-of-stock product with substitutes in the demo store")


def sellable(sku: str) -> bool:
    """On the shelf now, or on an open purchase order that takes pre-orders."""
    with UnitOfWork() as uow:
        pid = uow.catalog.product_id_for_sku(sku)
        stock = next(s for s in uow.catalog.variant_stock(pid) if s.sku == sku)
    return stock.available > 0 or outlook_for(stock, TODAY, low_stock_threshold()).can_preorder


def stock_of(sku: str):
    with UnitOfWork() as uow:
        pid = uow.catalog.product_id_for_sku(sku)
        return next(s for s in uow.catalog.variant_stock(pid) if s.sku == sku)


def stock_words(sku: str) -> str:
    """What a stock answer about `sku` must say, from the database."""
    stock = stock_of(sku)
    if stock.available > low_stock_threshold():
        return f"is in stock ({stock.available} available)"
    if stock.available > 0:
        return f"only {stock.available} left"
    return "is out of stock right now"


def name_of(product) -> str:
    return product_name(product.title, product.brand)


def offer_in_stock_answer(sender: str):
    product, wanted = out_of_stock_with_substitutes()
    messages, events = run(ActionAnswerStock(), tracker(f"is {wanted} in stock?", "check_stock", sender=sender))
    return product, wanted, messages, slots_of(events)


# --------------------------------------------------------------------------- offered with the stock answer

def test_out_of_stock_answer_offers_substitutes_of_the_same_kind_as_buttons():
    product, wanted, messages, slots = offer_in_stock_answer("shopper-oos")
    assert len(messages) == 2 and not messages[0].get("buttons")
    assert messages[0]["text"].startswith(f"The {name_of(product)} is out of stock right now. ")
    offer = messages[1]
    *choices, no_thanks = offer["buttons"]
    assert no_thanks == {"title": "No thanks", "payload": "/deny"}
    assert 1 <= len(choices) <= 3
    assert all(b["payload"].startswith('/choose_substitute{"sku": "') and len(b["title"]) <= 60 for b in choices)
    skus = [sku_of(b) for b in choices]
    assert slots["substitute_for"] == wanted and slots["offered_substitutes"] == skus
    assert slots["product_sku"] == wanted  # follow-ups still mean the product asked about
    with UnitOfWork() as uow:
        by_sku = {s: p for p in uow.catalog.products() for s in p.variant_skus}
    for sku, button in zip(skus, choices):
        assert sellable(sku), sku
        assert by_sku[sku].category == product.category and by_sku[sku].id != product.id
        assert by_sku[sku].title in offer["text"] and button["title"].split(" (")[0].rstrip("…") in by_sku[sku].title
    assert offer["text"].count("\n- ") == len(choices)  # one line (with its reason) per suggestion
    for sku, line in zip(skus, offer["text"].split("\n")[1:]):
        available = stock_of(sku).available
        assert line.endswith(f", {available} in stock") if available > 0 else ", pre-order, " in line
    expected = find_substitutes(UnitOfWork(), wanted, k=4)[:3]
    assert offer["text"] == says.offer_text(name_of(product), expected, TODAY)
    assert [b["title"] for b in choices] == [says.button_title(s) for s in expected]


def test_in_stock_answer_offers_nothing_and_closes_an_older_offer():
    with UnitOfWork() as uow:
        stock = next(s for v in uow.session.execute(select(Variant.product_id).order_by(Variant.id)).scalars()
                     for s in uow.catalog.variant_stock(v) if s.available > 20)
    older = {"substitute_for": "X", "offered_substitutes": ["Y"]}
    messages, events = run(ActionAnswerStock(), tracker(f"is {stock.sku} in stock?", "check_stock", slots=older))
    assert len(messages) == 1 and not messages[0].get("buttons")
    assert messages[0]["text"].startswith("Yes, the ") and f"is in stock ({stock.available} available)" in messages[0]["text"]
    assert slots_of(events)["offered_substitutes"] is None and slots_of(events)["substitute_for"] is None


def test_a_follow_up_right_after_an_offer_does_not_repeat_it():
    _, wanted, _, slots = offer_in_stock_answer("shopper-follow")
    again, events = run(ActionAnswerStock(), tracker("when will it be back?", "ask_restock_date", slots=slots))
    assert len(again) == 1 and not again[0].get("buttons") and "is out of stock right now" in again[0]["text"]
    assert "offered_substitutes" not in slots_of(events)  # the offer on screen stays open


# --------------------------------------------------------------------------- choosing one

def test_choosing_an_offered_substitute_records_it_and_answers_its_stock():
    sender = "shopper-choose"
    _, wanted, messages, slots = offer_in_stock_answer(sender)
    first = sku_of(messages[1]["buttons"][0])
    answer, events = choose(first, slots, sender)
    assert feedback() == [(wanted, first, True, sender)]
    with UnitOfWork() as uow:
        pid = uow.catalog.product_id_for_sku(first)
        title = uow.catalog.products([pid])[0].title
    assert len(answer) == 1 and title in answer[0]["text"] and stock_words(first) in answer[0]["text"]
    after = slots_of(events)
    assert after["product_sku"] == first  # "reserve it" now means the substitute
    assert first not in (after["offered_substitutes"] or [])
    again, _ = choose(first, {**slots, **after}, sender)  # a double click is not counted twice
    assert len(feedback()) == 1 and again[0]["text"] == says.NOT_OFFERED
    assert title in again[1]["text"] and stock_words(first) in again[1]["text"]  # still answered


def test_a_pre_orderable_choice_gets_a_button_that_starts_its_pre_order():
    with UnitOfWork() as uow:
        candidates = uow.session.execute(select(Variant.sku).where(Variant.preorder_allowed).order_by(Variant.id))
        preorderable = next(sku for sku in candidates.scalars() if not _in_stock(uow, sku) and sellable(sku))
    _, wanted = out_of_stock_with_substitutes()
    sender = "shopper-pre"
    answer, _ = choose(preorderable, {"substitute_for": wanted, "offered_substitutes": [preorderable]}, sender)
    assert feedback() == [(wanted, preorderable, True, sender)]
    assert "is out of stock right now" in answer[0]["text"]
    assert "You can pre-order one from that delivery." in answer[0]["text"]
    [button] = answer[0]["buttons"]
    assert button["payload"] == "/request_preorder" + json.dumps({"sku": preorderable})
    form = ValidatePreorderForm()
    dispatcher = CollectingDispatcher()
    started = tracker(button["payload"], "request_preorder", [{"entity": "sku", "value": preorderable}],
                      {"product_sku": preorderable}, sender)
    found = asyncio.run(form.extract_preorder_sku(dispatcher, started, {}))
    assert found["preorder_sku"] == preorderable and dispatcher.messages == []


def _in_stock(uow, sku: str) -> bool:
    pid = uow.catalog.product_id_for_sku(sku)
    return next(s for s in uow.catalog.variant_stock(pid) if s.sku == sku).available > 0


@pytest.mark.parametrize("sku", ["NOPE-0000", "'; DROP TABLE substitute_feedback; --", "KCM-01046 OR 1=1"])
def test_an_unknown_sku_is_answered_and_records_nothing(sku):
    _, wanted, messages, slots = offer_in_stock_answer("shopper-bad")
    answer, events = choose(sku, slots, "shopper-bad")
    assert [m["text"] for m in answer] == [says.NOT_IN_CATALOG] and events == []
    assert feedback() == []


def test_a_sku_that_was_not_offered_is_answered_and_records_nothing():
    _, wanted, messages, slots = offer_in_stock_answer("shopper-stale")
    offered = set(slots["offered_substitutes"])
    with UnitOfWork() as uow:
        other = next(s for s in uow.session.execute(select(Variant.sku).order_by(Variant.id)).scalars()
                     if s not in offered and s != wanted)
    answer, _ = choose(other, slots, "shopper-stale")
    assert answer[0]["text"] == says.NOT_OFFERED and "haven't noted it" in answer[0]["text"]
    assert stock_words(other) in answer[1]["text"]  # answered all the same
    answer, _ = choose(sorted(offered)[0], {}, "shopper-stale")  # a button from a conversation without an offer
    assert answer[0]["text"] == says.NOT_OFFERED
    assert feedback() == []


# --------------------------------------------------------------------------- declining

def test_no_thanks_records_every_offered_substitute_as_rejected_and_offers_an_alert():
    sender = "shopper-no"
    product, wanted, messages, slots = offer_in_stock_answer(sender)
    answer, events = run(ActionDeclineSubstitutes(), tracker("/deny", "deny", slots=slots, sender=sender))
    assert answer[0]["text"] == (f"No problem. I can message you here as soon as the {name_of(product)} is back in "
                                 "stock, and hold one for you for a few hours so you can buy it.")
    assert feedback() == [(wanted, sku, False, sender) for sku in slots["offered_substitutes"]]
    assert answer[0]["buttons"] == [{"title": "Alert me when it's back",
                                     "payload": "/subscribe_restock" + json.dumps({"sku": wanted})}]
    assert slots_of(events) == {"substitute_for": None, "offered_substitutes": None}


def test_no_without_an_offer_gets_the_usual_reply_and_records_nothing():
    answer, events = run(ActionDeclineSubstitutes(), tracker("no", "deny", slots={"product_sku": "KCM-01046"}))
    assert [m.get("response") for m in answer] == ["utter_anything_else"] and events == [] and feedback() == []


# --------------------------------------------------------------------------- "anything similar?"

def test_ask_substitute_for_a_named_product():
    product, wanted = out_of_stock_with_substitutes()
    text = f"anything similar to the {product.title.lower()}?"
    messages, events = run(ActionOfferSubstitutes(), tracker(text, "ask_substitute",
                                                             [{"entity": "product", "value": product.title.lower()}]))
    slots = slots_of(events)
    assert slots["product_sku"] in product.variant_skus and slots["substitute_for"] == wanted
    assert len(messages) == 1 and messages[0]["buttons"][-1]["payload"] == "/deny"
    expected = find_substitutes(UnitOfWork(), wanted, k=4)[:3]
    assert slots["offered_substitutes"] == [s.sku for s in expected] == [sku_of(b) for b in messages[0]["buttons"][:-1]]
    assert messages[0]["text"] == says.offer_text(name_of(product), expected, TODAY)
    assert messages[0]["text"].startswith(f"Instead of the {name_of(product)}, you could get:\n- ")


def test_ask_substitute_for_the_product_asked_about_before():
    product, wanted = out_of_stock_with_substitutes()
    messages, events = run(ActionOfferSubstitutes(), tracker("anything similar that's in stock right now?",
                                                             "ask_substitute", slots={"product_sku": wanted}))
    assert slots_of(events)["substitute_for"] == wanted and len(messages[0]["buttons"]) >= 2
    assert messages[0]["text"].startswith(f"Instead of the {name_of(product)}, you could get:\n- ")
    assert slots_of(events)["offered_substitutes"] == [sku_of(b) for b in messages[0]["buttons"][:-1]]


def test_nothing_similar_is_said_plainly_with_an_alert_button():
    product, wanted = out_of_stock_with_substitutes()
    entities = [{"entity": "product", "value": product.title.lower()}, {"entity": "color", "value": "chartreuse"}]
    messages, events = run(ActionOfferSubstitutes(), tracker(f"any {product.title} in chartreuse?", "ask_substitute",
                                                             entities))
    can_preorder = check_stock(UnitOfWork(), product, TODAY).best.outlook.can_preorder
    text = messages[0]["text"]
    assert text.startswith(f"I don't have a similar item I can suggest instead of the {name_of(product)} right now. ")
    assert text == says.nothing_similar(name_of(product), can_preorder) and "back in stock" in text
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert payloads == ["/request_preorder" + json.dumps({"sku": wanted})] * can_preorder \
        + ["/subscribe_restock" + json.dumps({"sku": wanted})]
    assert slots_of(events)["offered_substitutes"] is None


# --------------------------------------------------------------------------- how a suggestion reads

def test_a_pre_orderable_suggestion_says_when_it_is_due_and_buttons_stay_short():
    eta = TODAY + dt.timedelta(days=5)
    reason = Reason(available=0, brand="Lumen", price_change=-5.0, eta=eta)
    s = Substitute("LMP-1", 7, "Arc Floor Lamp with an Extra Long Name for a Very Particular Corner", 0.8, reason,
                   0, True, "Lumen", Decimal("99.5"), "USD", "brushed brass", "XL", eta)
    header, line = says.offer_text("Orbit Floor Lamp", [s], TODAY).split("\n")
    assert header == "Instead of the Orbit Floor Lamp, you could get:"
    assert line == ("- Lumen Arc Floor Lamp with an Extra Long Name for a Very Particular Corner (brushed brass, "
                    f"size XL), $99.50: by Lumen, 5% cheaper, pre-order, due around {day(eta, TODAY)}")
    assert day(eta, TODAY) == f"{eta.day} {eta:%b}" + ("" if eta.year == TODAY.year else f" {eta.year}")
    next_year = TODAY + dt.timedelta(days=400)  # a date in another year says which
    assert says.reason_text(dataclasses.replace(reason, eta=next_year), TODAY).endswith(
        f"pre-order, due around {next_year.day} {next_year:%b} {next_year.year}")
    title = says.button_title(s)
    assert len(title) <= 60 and title.endswith("… (brushed brass, size XL)")


# --------------------------------------------------------------------------- pre-order asks once

def validate_form(t: Tracker) -> tuple[list[dict], dict]:
    """validate_preorder_form as Rasa calls it, with the real domain; returns messages and slots set."""
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidatePreorderForm().run(dispatcher, t, domain))
    return dispatcher.messages, slots_of(events)


def test_pre_ordering_a_product_with_variants_asks_which_variant_once():
    with UnitOfWork() as uow:
        products = uow.catalog.products()
    titles = [p.title for p in products]
    product = next(p for p in products if len(p.variant_skus) > 3 and p.colors and titles.count(p.title) == 1)
    text = f"I'd like to pre-order the {product.title}"
    messages, found = validate_form(tracker(text, "request_preorder", [{"entity": "product", "value": product.title}]))
    assert messages == [] and "preorder_sku" not in found  # the form's ask action asks, nobody else
    assert found["product_sku"] in product.variant_skus  # ...and knows which product it is about
    asked, _ = run(ActionAskPreorderSku(), tracker(text, "request_preorder", slots={**found, "requested_slot": "preorder_sku"}))
    assert len(asked) == 1 and asked[0]["text"] == f"Which {name_of(product)} would you like to reserve?"
    skus = [sku_of(b) for b in asked[0]["buttons"]]
    assert skus and set(skus) <= set(product.variant_skus)
    assert all(b["payload"].startswith("/inform{") for b in asked[0]["buttons"])
    # The shopper's button answer fills the slot; nothing is asked again.
    answer = tracker(asked[0]["buttons"][0]["payload"], "inform", [{"entity": "sku", "value": skus[0]}],
                     {**found, "requested_slot": "preorder_sku"})
    messages, filled = validate_form(answer)
    assert filled["preorder_sku"] == skus[0]
    assert not any("would you like to reserve" in (m.get("text") or "") for m in messages)


def test_pre_ordering_with_several_close_products_asks_which_one_once():
    messages, found = validate_form(tracker("can I pre-order an espresso machine?", "request_preorder",
                                            [{"entity": "product", "value": "espresso machine"}]))
    assert messages == [] and len(found["candidate_skus"]) >= 2
    asked, _ = run(ActionAskPreorderSku(), tracker("can I pre-order an espresso machine?", "request_preorder",
                                                  slots={**found, "requested_slot": "preorder_sku"}))
    assert len(asked) == 1
    assert asked[0]["text"] == "I found a few products that could match. Which one would you like to reserve?"
    assert [sku_of(b) for b in asked[0]["buttons"]] == found["candidate_skus"]


def test_pre_order_without_a_product_asks_the_plain_question():
    asked, _ = run(ActionAskPreorderSku(), tracker("I want to pre-order", "request_preorder"))
    assert [m["text"] for m in asked] == [ASK_PRODUCT] and not asked[0].get("buttons")
