"""Substitutes on a merchant's feed without a type column: kinds read from titles,
descriptions and attributes (catalog.domain.kinds), parts and kids' versions kept apart,
shoppers' choices and the price band in the ranking.

The catalog here is invented for these tests (brands, titles, descriptions): feed-like,
with pipes and dashes, a title without a generic noun, parts in the same category as the
machines they fit, and kids' helmets beside adults'. It is imported with the project's
importer into a real SQLite file and indexed with the bundled embedding model.
"""
from __future__ import annotations

import json
import random

import pytest

from catalog.domain.kinds import (
    KIND_THRESHOLD,
    KindNames,
    NEVER,
    OTHER_NAME,
    SAME_TYPE,
    confusable,
    group_kinds,
    is_kids,
    pair_score,
    read_kind,
    related_names,
)
from catalog.services.substitutes import find_substitutes, record_feedback
from catalog.uow import UnitOfWork
from tests.demo import indexed_feed

MACHINE = {"pressure": "15 bar", "tank": "1.8 L", "boiler": "thermoblock"}
PART = {"fits": "", "material": "stainless steel"}
HELMET = {"weight": "280 g", "vents": 14, "certification": "EN 1078"}

FEED = [
    # sku, title, brand, category, price, on_hand, description, attributes
    ("CF-100", "AURELIO Espresso Machine | 15 Bar | Milk Frother | 1.8L Tank", "Aurelio", "Home > Coffee",
     "199", 0, "Compact espresso machine with a steam wand for lattes and a removable water tank.", MACHINE),
    ("CF-101", "Brisca Barista Pro Espresso Maker with Steam Wand, 20 Bar, Brushed Steel", "Brisca",
     "Home > Coffee", "229", 14, "Semi-automatic espresso maker with a 20 bar pump and a commercial-style wand.",
     MACHINE),
    ("CF-102", "Tamsin Crema 3 – dual boiler, PID temperature control, 58 mm portafilter", "Tamsin",
     "Home > Coffee", "249", 6, "Dual-boiler espresso machine that steams milk while it pulls a shot.", MACHINE),
    ("CF-103", "Semi-Automatic Espresso Machine 15 Bar, Compact, Stainless - CORVESSA", "Corvessa",
     "Home > Coffee", "179", 22, "Slim espresso machine with a thermoblock heater, ready in forty seconds.",
     MACHINE),
    ("CF-200", "Replacement Brew Group for Aurelio Espresso Machine, OEM Fit", "Partwell", "Home > Coffee",
     "89", 40, "Spare brew unit that clicks into Aurelio machines; restores full pressure.", PART),
    ("CF-201", "Partwell 51 mm Bottomless Portafilter Compatible with Brisca Barista Pro", "Partwell",
     "Home > Coffee", "99", 31, "Naked portafilter for watching the extraction, with a two-shot basket.", PART),
    ("CF-202", "Steam Wand Upgrade Kit for Corvessa Espresso Machines | Stainless", "Partwell", "Home > Coffee",
     "95", 18, "Replacement wand with a single-hole tip for silkier milk foam.", PART),
    ("CF-300", "Bellamy Petit Espresso Machine, 15 Bar, Single Boiler", "Bellamy", "Home > Coffee", "85", 0,
     "Entry-level espresso machine for one or two cups at a time.", MACHINE),
    ("CY-100", "Velocita Road Bike Helmet for Men, MIPS, 280 g, Matte Black", "Velocita", "Sports > Cycling",
     "120", 0, "Lightweight road helmet with a rotational impact layer and fourteen vents.", HELMET),
    ("CY-101", "Ardent Aero Cycling Helmet - Adult, Matte Black", "Ardent", "Sports > Cycling", "110", 9,
     "Aero road helmet with a magnetic buckle and a removable visor.", HELMET),
    ("CY-102", "Corsa Commuter Bike Helmet with Rear Light, Unisex", "Corsa", "Sports > Cycling", "95", 12,
     "Urban bike helmet with a built-in rear light and a dial-fit cradle.", HELMET),
    ("CY-103", "Kids Bike Helmet Ages 5-8, Dinosaur Print – Pipkin", "Pipkin", "Sports > Cycling", "45", 30,
     "A bike helmet for young riders with a pinch-free buckle.", HELMET),
    ("CY-104", "Pipkin Youth Cycling Helmet, Ages 8-14, Blue", "Pipkin", "Sports > Cycling", "55", 17,
     "A cycling helmet for older kids with an adjustable dial.", HELMET),
    ("CY-105", "Toddler Bike Helmet 2T-4T, Rocket Stickers - Tumbleroo", "Tumbleroo", "Sports > Cycling", "40", 0,
     "A small bike helmet for toddlers on balance bikes.", HELMET),
]


@pytest.fixture(scope="module")
def feed_db(tmp_path_factory):
    """The feed imported with the importer into a fresh SQLite file, indexed as the action server does."""
    return indexed_feed(tmp_path_factory.mktemp("feed"),
                        ["sku", "title", "brand", "category", "price", "on_hand", "description", "attributes"],
                        [[*row[:7], json.dumps(row[7])] for row in FEED])


def _skus(url, sku, k=5):
    return [s.sku for s in find_substitutes(UnitOfWork(url), sku, k=k)]


# --------------------------------------------------------------------------- the service on a feed

def test_a_machine_gets_machines_never_the_parts_that_fit_it(feed_db):
    found = _skus(feed_db, "CF-100")
    assert found and set(found) <= {"CF-101", "CF-102", "CF-103"}
    # The title without a generic noun ("Tamsin Crema 3 – dual boiler, ...") is a machine too.
    assert "CF-102" in found


def test_a_kids_helmet_is_never_offered_for_an_adult_one_nor_the_other_way(feed_db):
    adult = _skus(feed_db, "CY-100")
    assert adult and set(adult) <= {"CY-101", "CY-102"}
    kids = _skus(feed_db, "CY-105")
    assert kids and set(kids) <= {"CY-103", "CY-104"}


def test_the_price_band_ranks_but_does_not_hide_every_alternative(feed_db):
    """A $85 machine: every machine on the shelf costs twice as much or more. Those within
    three times the price are still offered (the nearest price first); the parts, in price,
    are not machines."""
    found = find_substitutes(UnitOfWork(feed_db), "CF-300", k=5)
    assert [s.sku for s in found] == ["CF-103", "CF-101", "CF-102"]
    assert all(s.reason.price_change > 60 for s in found)


def test_shoppers_choices_change_the_ranking(feed_db, tmp_path):
    from tests.servers import copy_sqlite

    url = copy_sqlite(feed_db, tmp_path / "feed.db")
    before = _skus(url, "CF-100")
    last = before[-1]
    assert last != before[0]
    for accepted in (True, True, True):
        record_feedback(UnitOfWork(url), "CF-100", last, accepted, "conv")
    record_feedback(UnitOfWork(url), "CF-100", before[0], False, "conv")
    after = _skus(url, "CF-100")
    assert after[0] == last and sorted(after) == sorted(before)


def test_shoppers_choices_count_as_the_same_kind(feed_db, tmp_path):
    """Shoppers who wanted the kids' helmet that is out took the commuter helmet again and
    again: it is offered too (a kids' helmet is never offered for one marked adult, but
    this one is marked neither)."""
    from tests.servers import copy_sqlite

    url = copy_sqlite(feed_db, tmp_path / "feed.db")
    assert "CY-102" not in _skus(url, "CY-105")
    for _ in range(3):
        record_feedback(UnitOfWork(url), "CY-105", "CY-102", True, "conv")
    assert "CY-102" in _skus(url, "CY-105")
    for _ in range(3):  # never the adult-marked one, whatever shoppers clicked
        record_feedback(UnitOfWork(url), "CY-105", "CY-101", True, "conv")
    assert "CY-101" not in _skus(url, "CY-105")


# --------------------------------------------------------------------------- the rules

def _facts(sku):
    row = next(r for r in FEED if r[0] == sku)
    return read_kind(row[1], row[2], row[3], row[6], row[7])


def test_what_a_listing_says_about_its_kind():
    machine, part, kit = _facts("CF-100"), _facts("CF-200"), _facts("CF-202")
    assert machine.names[0] == ("espresso", "machine") and not machine.part_of
    assert part.part and {"aurelio", "espresso", "machine"} <= set(part.part_of)
    assert "corvessa" in kit.part_of
    assert _facts("CY-103").kids and _facts("CY-105").kids and _facts("CY-104").kids
    assert _facts("CY-100").adult and not _facts("CY-100").kids
    assert not _facts("CY-102").kids and not _facts("CY-102").adult  # unisex: neither
    assert is_kids("Rain Jacket, Ages 3-7") and not is_kids("Board Game, Ages 10+")


def test_a_part_never_pairs_with_what_it_fits_but_two_machines_do():
    names = KindNames(_facts(r[0]) for r in FEED)
    machine, other, part = (names.read(_facts(s)) for s in ("CF-100", "CF-103", "CF-200"))
    assert "machine" in part.made_for
    assert confusable(part, machine) and not confusable(machine, other)
    assert pair_score(0.9, part, machine) == NEVER and pair_score(0.6, machine, other) > 0.6
    # A part that names only the brand and model it fits ("... Compatible with Brisca
    # Barista Pro") is resolved to what that model is called ("Espresso Maker").
    portafilter, maker = names.read(_facts("CF-201")), names.read(_facts("CF-101"))
    assert "maker" in portafilter.made_for and confusable(portafilter, maker)


def test_groups_join_while_the_mean_pair_score_holds():
    scores = {(1, 2): 0.8, (2, 3): 0.7, (1, 3): 0.6, (3, 4): 0.5, (1, 4): NEVER, (2, 4): 0.1}
    assert group_kinds([1, 2, 3, 4], scores, threshold=0.35) == {1: 1, 2: 1, 3: 1, 4: 4}
    # Looking only at the pairs compared (a large category), 4's mean with the group stays low.
    assert group_kinds([1, 2, 3, 4], scores, missing=None, threshold=0.35)[4] == 4


def _scores(ids: list[int], score) -> dict[tuple[int, int], float]:
    return {(i, j): score(i, j) for i in ids for j in ids if i < j}


# Invented products of one category, by id: four kettles (1-4) and four toasters (5-8).
KETTLES, TOASTERS = [1, 2, 3, 4], [5, 6, 7, 8]


def _kettles_and_toasters(i: int, j: int) -> float:
    """A feed where kettles and toasters share brands and wording: different kinds still
    score 0.6, far above the floor, but well below the 0.78-0.84 within each kind."""
    same = (i in KETTLES) == (j in KETTLES)
    return (0.78 + 0.02 * ((i + j) % 4)) if same else 0.6 - 0.01 * ((i * j) % 3)


def test_a_category_of_two_kinds_is_cut_where_its_own_scores_drop():
    ids = KETTLES + TOASTERS
    scores = _scores(ids, _kettles_and_toasters)
    assert min(scores.values()) > KIND_THRESHOLD  # a fixed floor alone would make one group
    groups = group_kinds(ids, scores)
    assert {groups[i] for i in KETTLES} == {1} and {groups[i] for i in TOASTERS} == {5}
    # A large category, where only the pairs looked at count, is cut the same way.
    sparse = {pair: s for pair, s in scores.items() if (pair[1] - pair[0]) % 4 in (1, 3)}
    groups = group_kinds(ids, sparse, missing=None)
    assert {groups[i] for i in KETTLES} == {1} and {groups[i] for i in TOASTERS} == {5}


def test_a_category_of_one_kind_stays_whole():
    """Ten kettles whose scores spread over 0.65-0.8 with no kind among them, and a pair of
    near-duplicate listings (9, 10): nothing stands out enough to be cut off."""
    ids = list(range(1, 11))
    spread = random.Random(12)
    scores = {(i, j): 0.98 if (i, j) == (9, 10) else 0.65 + 0.15 * spread.random() for i in ids for j in ids if i < j}
    assert len(set(group_kinds(ids, scores).values())) == 1
    # Without the margin and the least size of a kind, the same scores would be cut up.
    assert len(set(group_kinds(ids, scores, margin=0.0, min_kind=2).values())) > 1
    # And the kettles and toasters, asked for a far larger drop, stay one group too.
    ids = KETTLES + TOASTERS
    assert len(set(group_kinds(ids, _scores(ids, _kettles_and_toasters), margin=0.3).values())) == 1


def test_a_lone_kind_named_by_title_and_type_does_not_join_the_shared_kind():
    """One brand's "Juice Press" beside several brands' blenders: its name is no counted
    kind (one brand uses it), but its title and its merchant type agree on it, so it scores
    as another kind; a model name ("Vortex 9") or a feature ending a title is no kind name."""
    rows = [("Harlow Countertop Blender", "Harlow", {"type": "blender"}),
            ("Quenby Countertop Blender", "Quenby", {"type": "blender"}),
            ("Ostra Vortex 9 – variable speed, 56 oz pitcher", "Ostra", {"type": "blender"}),
            ("Ostra Juice Press", "Ostra", {"type": "juice press"}),
            ("Ostra Aero 2 – 12 settings", "Ostra", {})]
    facts = [read_kind(title, brand, "Kitchen > Blenders", f"{title}.", attrs) for title, brand, attrs in rows]
    names = KindNames(facts)
    harlow, _, vortex, press, aero = (names.read(f) for f in facts)
    assert press.name is None and press.own_name == "juice press"
    assert vortex.own_name is None and aero.own_name is None and harlow.own_name is None
    assert pair_score(0.7, press, harlow) == pytest.approx(pair_score(0.7, aero, harlow) - OTHER_NAME)
    assert pair_score(0.7, vortex, harlow) == SAME_TYPE  # the merchant's shared type decides


def test_a_kind_name_keeps_the_word_that_tells_kinds_apart():
    """Names of up to three words: "Espresso Coffee Machine" and "Drip Coffee Machine" are two
    kinds though both end in "coffee machine"; a hyphenated modifier is one word ("on-ear"
    and "over-ear" would both end in "ear headphones" otherwise); a word that begins a name
    other brands share ("trail" in "Trail Runners") still counts before one brand's head."""
    rows = [("Pellow Espresso Coffee Machine", "Pellow"), ("Quist Espresso Coffee Machine", "Quist"),
            ("Pellow Drip Coffee Machine", "Pellow"), ("Quist Drip Coffee Machine", "Quist"),
            ("Rondel Coffee Machine", "Rondel"),
            ("Pellow On-Ear Headphones", "Pellow"), ("Quist On-Ear Headphones", "Quist"),
            ("Rondel Over-Ear Headphones", "Rondel"),
            ("Pellow Trail Runners", "Pellow"), ("Quist Trail Runners", "Quist"),
            ("Rondel Trail Trainers", "Rondel"), ("Quist Trainers", "Quist"), ("Pellow Trainers", "Pellow")]
    facts = [read_kind(title, brand, "Home > Things") for title, brand in rows]
    names = [KindNames(facts).read(f).name for f in facts]
    assert names[:5] == ["espresso coffee machine", "espresso coffee machine", "drip coffee machine",
                         "drip coffee machine", "coffee machine"]
    assert names[5] == "onear headphone" and names[7] == "headphone"
    assert names[10] == "trail trainer" and names[11] == "trainer"
    assert not related_names("espresso coffee machine", "drip coffee machine")
    assert related_names("coffee machine", "espresso coffee machine") and related_names("machine", "coffee machine")
    assert not related_names("coffee maker", "coffee machine") and not related_names("trail trainer", "road runner")


def test_a_description_that_lists_features_names_no_kind():
    assert read_kind("Pellow Vesta 3", "Pellow", "Home > Things", "Features a tempered lid and a steel base.").names \
        == (("vesta",),)
    assert read_kind("Pellow Vesta 3", "Pellow", "Home > Things", "A sturdy stockpot with a tempered lid.").names \
        == (("vesta",), ("sturdy", "stockpot"))
