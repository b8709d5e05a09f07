""""Goes with" suggestions: the rules, the service on an invented catalog in a real SQLite
file (with past orders), and the line a shopper reads after confirming a pre-order."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.preorder import ActionSubmitPreorder
from catalog.db.migrate import upgrade
from catalog.db.orm import Customer, Order, OrderLine, Variant
from catalog.domain.complements import Item, Relation, identity, references, refers_to, relation, tokens
from catalog.importing.reader import RawRow
from catalog.policy import shared_store
from catalog.services.complements import UnknownItem, goes_with, read_names
from catalog.services.importing import import_raw_rows
from catalog.uow import UnitOfWork
from catalog.wording import complements as says
from tests.conftest import ROOT, TODAY


# --------------------------------------------------------------------------- the rules

def _item(title, brand=None, category="Home > Kettles", pid=1, price=None, **attrs) -> Item:
    return Item(pid, title, brand, category, attrs, Decimal(price) if price else None)


def test_references_in_titles_and_attributes():
    assert tokens("KV-3 Jars") == ["kv", "3", "jar"]
    assert references("Spare Lid for the Sprell Zipora 3 / Zipora 4 | BPA free", {}) == [
        ["sprell", "zipora", "3"], ["zipora", "4"]]
    assert references("Descaler (fits RX-400)", {"compatible_with": "Zipora 3, Zipora 5"}) == [
        ["rx", "400"], ["zipora", "3"], ["zipora", "5"]]
    assert references("Slim Fit Apron", {}) == []  # "fit" alone refers to nothing


def test_a_reference_must_name_the_item_not_a_word_other_brands_share():
    kettle = _item("Sprell Zipora 3 Collapsible Kettle", "Sprell")
    who = identity(kettle, shared={"collapsible"})  # other brands' kettles are collapsible too
    assert who.name_words == {"zipora"}
    assert refers_to(tokens("the Sprell Zipora 3"), who) is Relation.NAMES_IT
    assert refers_to(tokens("Zipora 3 kettles"), who) is Relation.NAMES_IT
    assert refers_to(tokens("Sprell Zipora 4"), who) is None  # another model
    assert refers_to(tokens("collapsible kettles"), who) is None  # a descriptor names no item
    assert refers_to(tokens("Sprell kettles"), who) is Relation.FOR_THE_BRAND
    assert refers_to(tokens("Sprell toasters"), who) is None  # the brand, but another kind of thing
    # Counted in the catalog, not from a word list: alone in its catalog the word would identify it.
    assert "collapsible" in identity(kettle, shared=set()).name_words


def test_what_could_replace_the_item_never_goes_with_it():
    kettle = _item("Sprell Zipora 3 Kettle", "Sprell", price="60", type="kettle")
    who = identity(kettle, shared=set())
    bigger = _item("Sprell Zipora 3 Max Kettle", "Sprell", pid=2, price="90", type="kettle")
    assert relation(kettle, who, bigger, bought_together=9) is None
    lid = _item("Sprell Zipora 3 Spare Lid", "Sprell", pid=3, price="8", type="kettle lid")
    assert relation(kettle, who, lid) is Relation.SAME_LINE
    pricey = _item("Sprell Zipora 3 Base Station", "Sprell", pid=4, price="55", type="kettle base")
    assert relation(kettle, who, pricey) is None  # same shelf, not an add-on's price
    mugs = _item("Tea Mugs (set of 4)", "Fennow", "Home > Mugs", pid=5, price="20")
    assert relation(kettle, who, mugs, bought_together=1) is None
    assert relation(kettle, who, mugs, bought_together=2) is Relation.BOUGHT_TOGETHER


# --------------------------------------------------------------------------- the service

LANTERN = "VR-7"
ROWS = [
    # sku, title, brand, category, type, price, on_hand
    (LANTERN, "Vantrel Ruxby 7 \u2013 3 modes, dimmable", "Vantrel", "Outdoor > Lanterns", "lantern", "64", 0),
    ("GL-7", "Spare Globe for the Vantrel Ruxby 7", "Dunmark", "Outdoor > Lantern Parts", "globe", "14", 8),
    ("WB-7", "Wall Bracket compatible with Vantrel Ruxby 7 / Ruxby 9", "Dunmark", "Outdoor > Lantern Parts",
     "bracket", "11", 0),
    ("GL-9", "Spare Globe for the Vantrel Ruxby 9", "Dunmark", "Outdoor > Lantern Parts", "globe", "14", 6),
    ("SL-7", "Vantrel Ruxby 7 Carry Sling", "Vantrel", "Outdoor > Lantern Parts", "sling", "9", 12),
    ("HK-1", "Hanging Hook for Vantrel Lanterns", "Dunmark", "Outdoor > Lantern Parts", "hook", "5", 20),
    ("CC-1", "Cleaning Cloth for Lanterns", "Dunmark", "Outdoor > Lantern Parts", "cloth", "4", 30),
    ("VR-7M", "Vantrel Ruxby 7 Max \u2013 5 modes", "Vantrel", "Outdoor > Lanterns", "lantern", "80", 5),
    ("TG-1", "Tembo Glowline Lantern", "Tembo", "Outdoor > Lanterns", "lantern", "55", 7),
    ("RC-1", "Campfire Recipe Cards", "Marlet", "Books > Outdoors", "cards", "12", 15),
]


@pytest.fixture
def lanterns(tmp_path) -> str:
    """A lantern out of stock (pre-orderable), its accessories, a bigger model of it, another
    brand's lantern, and two past orders where it was bought with that lantern and a book."""
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    upgrade(url)
    rows = []
    for sku, title, brand, category, typ, price, on_hand in ROWS:
        row = {"sku": sku, "title": title, "brand": brand, "category": category, "price": price,
               "on_hand": str(on_hand), "description": "", "attributes": json.dumps({"type": typ})}
        if sku == LANTERN:
            row.update(incoming_qty="10", incoming_eta=(TODAY + dt.timedelta(days=20)).isoformat(),
                       preorder_allowed="true")
        rows.append(RawRow(len(rows) + 2, row))
    assert not import_raw_rows(UnitOfWork(url), rows, reference="test").errors
    with UnitOfWork(url) as uow:
        ids = dict(uow.session.execute(select(Variant.sku, Variant.id)).all())
        customer = Customer(name="Ada", email="ada@example.test")
        uow.session.add(customer)
        uow.session.flush()
        for n in (1, 2):
            order = Order(number=f"T-{n}", customer_id=customer.id, email=customer.email)
            uow.session.add(order)
            uow.session.flush()
            for sku in (LANTERN, "TG-1", "RC-1"):
                uow.session.add(OrderLine(order_id=order.id, variant_id=ids[sku], quantity=1, unit_price=Decimal("1")))
        uow.commit()
    return url


def test_goes_with_lists_the_accessories_never_a_substitute_nor_what_is_out(lanterns):
    found = goes_with(UnitOfWork(lanterns), LANTERN, limit=10)
    assert (found.title, found.brand) == (ROWS[0][1], "Vantrel")
    assert [(c.sku, c.relation) for c in found.complements] == [
        ("GL-7", Relation.NAMES_IT),  # "for the Vantrel Ruxby 7"
        ("SL-7", Relation.SAME_LINE),  # the lantern's own line, an add-on
        ("HK-1", Relation.FOR_THE_BRAND),  # for the brand's lanterns
        ("RC-1", Relation.BOUGHT_TOGETHER),  # in both past orders
    ]
    # Not: WB-7 (out of stock), GL-9 (the Ruxby 9's), CC-1 (for any lantern), VR-7M and
    # TG-1 (lanterns: what could replace it, even bought together).
    assert all(c.available > 0 for c in found.complements)
    assert goes_with(UnitOfWork(lanterns), LANTERN, limit=2).complements == found.complements[:2]
    assert goes_with(UnitOfWork(lanterns), LANTERN, limit=0).complements == ()
    with pytest.raises(UnknownItem):
        goes_with(UnitOfWork(lanterns), "NOPE-1")


def test_an_accessory_imported_later_is_suggested_on_the_next_call(lanterns):
    assert read_names(UnitOfWork(lanterns)) > 0  # read ahead, as the action server does at start
    assert "DK-7" not in [c.sku for c in goes_with(UnitOfWork(lanterns), LANTERN, limit=10).complements]
    row = {"sku": "DK-7", "title": "Desk Stand", "brand": "Dunmark", "category": "Outdoor > Lantern Parts",
           "price": "19", "on_hand": "3", "description": "", "compatible_with": "Vantrel Ruxby 7, Vantrel Ruxby 5"}
    assert not import_raw_rows(UnitOfWork(lanterns), [RawRow(2, row)], reference="later").errors
    found = goes_with(UnitOfWork(lanterns), LANTERN, limit=10).complements
    assert ("DK-7", Relation.NAMES_IT) in [(c.sku, c.relation) for c in found]  # by its compatible_with column


def test_an_accessory_bought_gets_no_device_as_its_companion(lanterns):
    assert [c.sku for c in goes_with(UnitOfWork(lanterns), "GL-7", limit=10).complements] == []


# --------------------------------------------------------------------------- in the chat

def _confirmed(sku: str) -> Tracker:
    slots = {"preorder_sku": sku, "preorder_kind": "preorder", "quantity": "1", "preorder_confirmed": True,
             "requested_slot": None}
    return Tracker(sender_id=f"t-{uuid.uuid4().hex[:8]}", slots=slots,
                   latest_message={"text": "/affirm", "intent": {"name": "affirm", "confidence": 1.0}, "entities": []},
                   events=[{"event": "active_loop", "name": "preorder_form", "timestamp": 1.0},
                           {"event": "user", "text": "/affirm", "input_channel": "rest"}],
                   paused=False, followup_action=None, active_loop={}, latest_action_name="action_listen")


def _submit(t: Tracker) -> list[dict]:
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionSubmitPreorder().run(dispatcher, t, {}))
    return dispatcher.messages


def test_a_confirmed_preorder_is_followed_by_what_goes_with_it(lanterns, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", lanterns)
    shared_store.cache_clear()  # the shipped policy file: two suggestions
    try:
        messages = _submit(_confirmed(LANTERN))
    finally:
        shared_store.cache_clear()
    assert [m["text"].split(" - ")[0] for m in messages] == ["Done", f"Goes with your {ROWS[0][1]}: "
                                                             "Dunmark Spare Globe for the Vantrel Ruxby 7 ($14.00) and "
                                                             "Vantrel Ruxby 7 Carry Sling ($9.00)"]
    assert messages[1]["text"].endswith(" - in stock now.") and not messages[1].get("buttons")
    assert messages[1]["text"] == says.goes_with(goes_with(UnitOfWork(lanterns), LANTERN, limit=2))


def test_turned_off_by_the_merchant_the_confirmation_stands_alone(lanterns, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", lanterns)
    policy = tmp_path / "policies.yml"
    policy.write_text((ROOT / "policies.yml").read_text().replace("goes_with_suggestions: 2",
                                                                  "goes_with_suggestions: 0"))
    monkeypatch.setenv("POLICY_FILE", str(policy))
    shared_store.cache_clear()
    try:
        messages = _submit(_confirmed(LANTERN))
    finally:
        shared_store.cache_clear()
    assert len(messages) == 1 and messages[0]["text"].startswith("Done - 1 reserved for you")


def test_the_merchant_sees_the_suggestions_and_why_from_the_cli(lanterns, capsys):
    from catalog.cli import main

    assert main(["--database-url", lanterns, "goes-with", LANTERN, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [(c["sku"], c["why"]) for c in shown] == [
        ("GL-7", "made for this model"), ("SL-7", "an add-on of the same model"),
        ("HK-1", "made for this brand's products"), ("RC-1", "bought together in 2 orders")]
    assert main(["--database-url", lanterns, "goes-with", "NOPE-1"]) == 1
