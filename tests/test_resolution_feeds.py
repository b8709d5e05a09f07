"""Finding products in a feed-like catalog: pipes, dashes, model numbers, pack sizes, brands
in capitals at either end, shopping synonyms, typos, accessories made for a device.

The catalog is invented here (brands and titles of no real shop, and none of the
evaluation catalog's) and imported through the import service into a real SQLite file.
Each case names the product a shopper means; the resolver must pick exactly it, or
offer a choice where the message really fits several.
"""
from __future__ import annotations

import asyncio
import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.stock import ActionAnswerStock
from catalog.db.migrate import upgrade
from catalog.search.resolver import ProductResolver
from catalog.search.text import words
from catalog.services.importing import import_file
from catalog.uow import UnitOfWork
from catalog.wording.format import day
from tests.conftest import TODAY

DUE = TODAY + dt.timedelta(days=23)
COLUMNS = ["sku", "title", "description", "category", "price", "on_hand", "brand", "attributes",
           "incoming_qty", "incoming_eta"]
# sku, title, description, category, price, on hand, brand, attributes, incoming, eta
FEED = [
    ("FK-190", "Brisco Pre-Filter Mesh for Vacuums | Washable | 2 Pack", "Washable mesh pre-filter.",
     "Home > Vacuums", "9.00", 30, "Brisco", {}, 0, None),
    ("FK-101", "VELMORA Electric Kettle | 1.7L | 1500W | Stainless Steel | Auto Shut-Off",
     "A fast-boiling kettle with a stainless body.", "Kitchen > Small Appliances", "39.00", 12, "Velmora", {}, 0, None),
    ("FK-102", "Velmora KX-200 Gooseneck Kettle, 900W, 0.9 L, Matte Black",
     "Pour-over kettle with a slim spout.", "Kitchen > Small Appliances", "59.00", 0, "Velmora", {}, 40, DUE),
    ("FK-103", "Replacement Lid for Velmora KX-200 Kettle – Silicone Seal, Hinged",
     "A spare lid for the gooseneck kettle.", "Kitchen > Small Appliance Parts", "9.00", 8, "Hollin", {}, 0, None),
    ("FK-104", "Velmora Limescale Filter 2-Pack, Fits KX-200 & KX-300",
     "Mesh filters that catch scale.", "Kitchen > Small Appliance Parts", "7.00", 0, "Velmora", {}, 0, None),
    ("FK-201", "Quarrix Wall Charger 65W USB-C | GaN | Foldable Plug",
     "Charges a laptop and a phone.", "Electronics > Chargers", "35.00", 20, "Quarrix", {}, 0, None),
    ("FK-202", "Quarrix 30W USB-C Power Adapter, Compact, White",
     "A small charger for phones.", "Electronics > Chargers", "19.00", 0, "Quarrix", {}, 15, DUE),
    ("FK-203", "Braided USB-C Cable 2m, 2-Pack, 100W – Quarrix",
     "Two long cables.", "Electronics > Cables", "15.00", 30, "Quarrix", {}, 0, None),
    ("FK-301", "Trail Sneakers for Men – Breathable Mesh, Grippy Sole – BRISKWAY",
     "Light trail shoes.", "Clothing > Footwear", "79.00", 6, "Briskway", {"size": "10"}, 0, None),
    ("FK-302", "BRISKWAY Court Classic Women's Sneaker, White Leather",
     "A clean leather court shoe.", "Clothing > Footwear", "69.00", 0, "Briskway", {"size": "7"}, 0, None),
    ("FK-401", "Rechargeable LED Camping Lanterns 3-Pack, Collapsible - Ostrel Gear",
     "Three lanterns that fold flat.", "Outdoors > Lighting", "32.00", 9, "Ostrel Gear", {}, 0, None),
    ("FK-402", "Ostrel Gear Headlamp 400 Lumen, Single, Red Night Mode",
     "A bright headlamp.", "Outdoors > Lighting", "21.00", 14, "Ostrel Gear", {}, 0, None),
    ("FK-501", "Pinewick Soy Candle 8 oz, Cedar & Smoke",
     "A woody candle.", "Home > Candles", "18.00", 4, "Pinewick", {}, 0, None),
    ("FK-502", "Pinewick Soy Candles 4 oz (Set of 3), Assorted Scents",
     "Three small candles.", "Home > Candles", "24.00", 0, "Pinewick", {}, 25, DUE),
    ("FK-601", "Kids' Rain Jacket | Ages 6-7 | Fleece-Lined | Navy | Dunmere",
     "A lined rain jacket for school days.", "Clothing > Outerwear", "45.00", 3, "Dunmere", {}, 0, None),
    ("FK-602", "Dunmere Packable Rain Jacket, Adult, Navy",
     "A light shell that packs into its pocket.", "Clothing > Outerwear", "89.00", 7, "Dunmere", {}, 0, None),
    ("FK-603", "Harrowgate Bath Sheet, Extra Large 90x180 cm, Sage",
     "An oversized towel.", "Home > Bath", "29.00", 10, "Harrowgate", {}, 0, None),
    ("FK-701", "Tessaro Thermo Gloves, Fleece Lined, Touchscreen Tips",
     "Warm gloves you can text in.", "Clothing > Accessories", "25.00", 11, "Tessaro", {"color": "Black"}, 0, None),
    ("FK-702", "Tessaro Thermo Gloves, Fleece Lined, Touchscreen Tips",
     "Warm gloves you can text in.", "Clothing > Accessories", "25.00", 0, "Tessaro", {"color": "Grey"}, 0, None),
]

# (what the shopper wrote, the SKU of the product meant)
FOUND = [
    ("do you have the velmora kx 200?", "FK-102"),  # model number written three ways
    ("VELMORA KX200 in stock", "FK-102"),
    ("any kx-200 gooseneck left", "FK-102"),
    ("is the lid for the velmora kx-200 in stock", "FK-103"),  # accessory for a device: the accessory
    ("velmora kx200 filter 2pk", "FK-104"),
    ("velmora electric kettle 1.7 l", "FK-101"),
    ("any quarrix power brick 65w?", "FK-201"),  # synonym and a unit
    ("quarrix 30 watt adaptor", "FK-202"),
    ("quarrix braided cord 2 pack", "FK-203"),
    ("briskway trainers for men", "FK-301"),  # brand written last in the title; trainers = sneakers
    ("Briskway court classic 👟", "FK-302"),
    ("ostrel lanterns 3 pack pls 🏕️", "FK-401"),  # emoji and chat around the name
    ("ostrel gear headlamp", "FK-402"),
    ("pinewick cedar candle 8oz", "FK-501"),  # pack sizes tell two candles of one brand apart
    ("pinewick candles set of 3", "FK-502"),
    ("pinwick soy candel cedar and smoke", "FK-501"),  # typos
    ("dunmere kids rain jacket", "FK-601"),
    ("dunmere packable rain jacket", "FK-602"),
    ("hi!! is the Tessaro thermo gloves still available?? thx", "FK-701"),
]

# Messages that fit several products: a choice, never a confident guess.
CHOICES = [
    ("velmora kettle", {"FK-101", "FK-102"}),
    ("do you have a rain jacket?", {"FK-601", "FK-602"}),
]


def _write_feed(path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for sku, title, description, category, price, on_hand, brand, attributes, incoming, eta in FEED:
            writer.writerow([sku, title, description, category, price, on_hand, brand, json.dumps(attributes),
                             incoming or "", eta.isoformat() if eta else ""])


@pytest.fixture(scope="module")
def feed_db(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("feed")
    url = f"sqlite:///{folder / 'feed.db'}"
    upgrade(url)
    _write_feed(folder / "feed.csv")
    report = import_file(UnitOfWork(url), folder / "feed.csv")
    assert not report.errors and report.imported == len(FEED)
    return url


@pytest.fixture(scope="module", params=["words", "words and meaning"])
def resolver(feed_db, request) -> ProductResolver:
    """Words only (SEMANTIC_SEARCH=0 is a supported setting, and what the words alone find
    must already be right), and with the embeddings the action server uses by default."""
    embedder = None
    if request.param == "words and meaning":
        from catalog.search.embedder import shared_embedder

        embedder = shared_embedder()
    return ProductResolver(lambda: UnitOfWork(feed_db), embedder=embedder)


@pytest.mark.parametrize("text, sku", FOUND)
def test_the_product_meant_is_found(resolver, text, sku):
    found = resolver.resolve(text).found
    assert found is not None, resolver.resolve(text).matches
    assert sku in found.product.variant_skus, found.product.title


@pytest.mark.parametrize("text, skus", CHOICES)
def test_a_message_that_fits_several_products_gets_a_choice(resolver, text, skus):
    resolution = resolver.resolve(text)
    assert resolution.ambiguous
    offered = {sku for m in resolution.matches for sku in m.product.variant_skus}
    assert skus <= offered


def test_asking_to_pre_order_or_reserve_names_no_product(resolver):
    """"can I pre-order it?" is about the product already talked about, never a 'Pre-Filter'."""
    for text in ("can I pre-order it?", "I'd like to pre-order it", "could I preorder one instead?", "reserve it for me",
                 "put it on backorder"):
        assert resolver.resolve(text).matches == (), text
    assert resolver.resolve("brisco pre-filter").found.product.variant_skus == ("FK-190",)


def test_words_the_catalog_does_not_have_find_nothing(resolver):
    assert resolver.resolve("zorblax 3000").matches == ()
    assert resolver.resolve("<b>7</b>").matches == ()


def test_the_same_name_written_differently_gives_the_same_words():
    def said(text: str) -> set[str]:
        return {t.text for t in words(text, frame=True)}

    assert {"kx200"} <= said("KX-200") & said("kx 200") & said("kx200")
    assert {"3pack"} <= said("3-Pack") & said("3pk") & said("pack of 3") & said("set of 3")
    assert {"12inch"} <= said('12"') & said("12 inch") & said("12 in,")
    assert said("power brick") == said("charger") and said("trainers") == said("sneakers")
    assert said("BRISKWAY | Crème") == said("briskway creme")
    assert "inch" not in said("the 40 in stock")
    assert {"gen2"} <= said("(2nd Gen)") & said("gen 2") & said("generation 2")
    assert {"mk2"} <= said("Mark II") & said("mk2") & said("MK 2")
    assert "xl" in said("Extra Large") & said("XL") and "2xl" in said("XXL") & said("2XL")


def _ask(text: str, entities: list[dict] | None = None) -> tuple[str, list[dict]]:
    tracker = Tracker("feed-shopper", {}, {"text": text, "intent": {"name": "check_stock", "confidence": 1.0},
                                           "entities": entities or []}, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionAnswerStock().run(dispatcher, tracker, {}))
    return dispatcher.messages[0]["text"], events


@pytest.fixture
def live(feed_db, monkeypatch):
    """The action server's own resolver (words and meaning) over the feed."""
    monkeypatch.setenv("DATABASE_URL", feed_db)
    runtime.resolver.cache_clear()
    yield
    runtime.resolver.cache_clear()


def test_the_shopper_reads_the_restock_date_of_the_model_asked_about(live):
    text, events = _ask("when is the velmora kx 200 back?")
    assert text.startswith("The Velmora KX-200 Gooseneck Kettle, 900W, 0.9 L, Matte Black is out of stock right now.")
    assert f"around {day(DUE, TODAY)}" in text
    assert {"event": "slot", "timestamp": None, "name": "product_sku", "value": "FK-102"} in events


def test_the_accessory_is_answered_not_its_device(live):
    text, _ = _ask("do you have the replacement lid for the kx-200?")
    assert text == ("Yes, the Hollin Replacement Lid for Velmora KX-200 Kettle – Silicone Seal, Hinged "
                    "is in stock (8 available) at $9.00.")


def test_words_that_describe_the_product_are_not_a_variant_it_lacks(live):
    # The NLU read "fleece lined" as a colour: the gloves are fleece lined, in black and grey.
    text, _ = _ask("tessaro fleece lined gloves in stock?",
                   [{"entity": "color", "value": "fleece lined", "start": 8, "end": 20}])
    assert "doesn't come in" not in text
    assert text.startswith("Yes, the Tessaro Thermo Gloves, Fleece Lined, Touchscreen Tips")
    # "XL" read as a size: the towel is extra large, and comes in no other size.
    text, _ = _ask("harrowgate xl bath sheet", [{"entity": "size", "value": "xl", "start": 11, "end": 13}])
    assert text.startswith("Yes, the Harrowgate Bath Sheet, Extra Large 90x180 cm, Sage is in stock")
    # A colour it is made in is still the variant asked about.
    text, _ = _ask("tessaro thermo gloves in grey?", [{"entity": "color", "value": "grey", "start": 22, "end": 26}])
    assert "out of stock" in text and "Grey" in text
