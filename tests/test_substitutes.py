"""Substitutes: the pure ranking rules, the service on the demo store, the CLI, the index."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import select, text, update

from catalog.db.orm import Product, SubstituteFeedback, Variant
from catalog.demo_data import build_demo_store
from catalog.domain.substitutes import (
    Candidate,
    Original,
    Reason,
    VariantOption,
    head_noun_phrase,
    kind_of,
    rank,
    reason_for,
)
from catalog.search.embedder import DIMENSION
from catalog.search.semantic_index import FORMAT
from catalog.services.substitutes import (
    UnknownSku,
    build_index,
    feedback_summary,
    find_substitutes,
    kind_payload,
    load_index,
    record_feedback,
    substitutes_index_path,
)
from catalog.uow import UnitOfWork
from catalog.wording.format import day
from catalog.wording.substitutes import reason_text
from tests.conftest import TODAY
from tests.servers import copy_sqlite


# --------------------------------------------------------------------------- pure rules

def _v(sku="X-1", color="black", size=None, price="100", available=10, preorder=0, eta=None):
    return VariantOption(sku, color, size, Decimal(price), "USD", available, preorder, eta)


def _orig(title="Daybreak Drip Coffee Maker", brand="Kettleby", category="Kitchen > Coffee Machines",
          typ="drip coffee maker", price="100", colors=("blue",), sizes=(), color=None, size=None):
    return Original(title, brand, kind_of(title, brand, category, {"type": typ} if typ else {}),
                    Decimal(price), colors, sizes, color, size)


def _cand(pid, title, category, typ, variants, brand="Other", similarity=0.8):
    return Candidate(pid, title, brand, kind_of(title, brand, category, {"type": typ} if typ else {}),
                     similarity, tuple(variants))


def test_same_kind_needs_category_and_type():
    maker = _orig()
    grinder = _cand(1, "Daybreak Burr Coffee Grinder", "Kitchen > Coffee Grinders", "burr coffee grinder", [_v()],
                    brand="Kettleby", similarity=0.95)
    single = _cand(2, "Uplift Single-Serve Coffee Maker", "Kitchen > Coffee Machines", "single-serve coffee maker",
                   [_v()], similarity=0.9)
    drip = _cand(3, "Crema Drip Coffee Maker", "Kitchen > Coffee Machines", "drip coffee maker", [_v()], similarity=0.6)
    assert [r.product_id for r in rank(maker, [grinder, single, drip])] == [3]


def test_socks_are_not_shoes_even_without_a_type_attribute():
    shoe = _orig("Tempo Road Running Shoe", "Stridewell", "Shoes > Running", None)
    socks = _cand(1, "Tempo Running Socks", "Apparel > Socks", None, [_v()], similarity=0.95)
    other_shoe = _cand(2, "Halcyon Road Running Shoe", "Shoes > Running", None, [_v()], similarity=0.6)
    assert [r.product_id for r in rank(shoe, [socks, other_shoe])] == [2]
    assert head_noun_phrase("Crew Socks (3-Pack)") == "crew sock"
    assert head_noun_phrase('Arc Floor Lamp, 72" Brushed Brass') == "floor lamp"
    assert head_noun_phrase("Pegasus Road Running Shoes for Men") == "running shoe"
    assert head_noun_phrase("Glass Kettle with Tea Infuser") == "glass kettle"


def test_without_a_type_attribute_a_shared_qualifier_separates_sub_kinds():
    """"Drip" and "single-serve" come before "coffee maker" in titles of several brands:
    they name sub-kinds. "Crema" and "Uplift" are one brand's model names."""
    drip = _orig("Crema Drip Coffee Maker", "Kettleby", "Kitchen > Coffee Machines", None)
    cands = [
        _cand(1, "Brewline Single-Serve Coffee Maker", "Kitchen > Coffee Machines", None, [_v()], "Ostara", 0.95),
        _cand(2, "Roastery Single-Serve Coffee Maker", "Kitchen > Coffee Machines", None, [_v()], "Morning Ritual", 0.9),
        _cand(3, "Uplift Drip Coffee Maker", "Kitchen > Coffee Machines", None, [_v()], "Copperline", 0.7),
        _cand(4, "Daybreak Coffee Maker", "Kitchen > Coffee Machines", None, [_v()], "Kettleby", 0.6),
    ]
    # The unqualified maker may be either; a single-serve one is another kind.
    assert [r.product_id for r in rank(drip, cands)] == [3, 4]


def test_only_sellable_in_the_asked_size_and_colour_within_the_far_price_band():
    o = _orig(colors=("blue",), color="blue", size="42", sizes=("41", "42"))
    cands = [
        _cand(1, "A Drip Coffee Maker", "Kitchen > Coffee Machines", "drip coffee maker",
              [_v("A-1", "blue", "42", available=0)]),  # out of stock
        _cand(2, "B Drip Coffee Maker", "Kitchen > Coffee Machines", "drip coffee maker",
              [_v("B-1", "black", "42")]),  # wrong colour
        _cand(3, "C Drip Coffee Maker", "Kitchen > Coffee Machines", "drip coffee maker",
              [_v("C-1", "blue", "42", price="320")]),  # more than three times the price
        _cand(4, "D Drip Coffee Maker", "Kitchen > Coffee Machines", "drip coffee maker",
              [_v("D-1", "blue", "43"), _v("D-2", "blue", "42", available=3)]),
        _cand(5, "E Drip Coffee Maker", "Kitchen > Coffee Machines", "drip coffee maker",
              [_v("E-1", "blue", "42", available=0, preorder=5)], similarity=0.99),
    ]
    # Something is on the shelf: another product to wait for is not offered.
    assert [r.variant.sku for r in rank(o, cands)] == ["D-2"]
    # Nothing is: the pre-order is, marked so.
    [only] = rank(o, [c for c in cands if c.product_id != 4])
    assert only.variant.sku == "E-1" and only.preorder


def test_price_distance_lowers_the_score_and_same_item_comes_first():
    o = _orig(price="100")
    near = _cand(1, "Near Drip Coffee Maker", "Kitchen > Coffee Machines", "drip coffee maker",
                 [_v("N-1", price="98")], similarity=0.7)
    far = _cand(2, "Far Drip Coffee Maker", "Kitchen > Coffee Machines", "drip coffee maker",
                [_v("F-1", price="155")], similarity=0.75)
    twin = _cand(3, "Daybreak Drip Coffee Maker", "Kitchen > Coffee Machines", "", [_v("T-1", price="110")],
                 brand="Kettleby", similarity=0.5)
    assert [r.variant.sku for r in rank(o, [near, far, twin])] == ["T-1", "N-1", "F-1"]


def test_reason_mentions_brand_colour_price_and_stock():
    o = _orig(colors=("blue",), price="100")
    reason = reason_for(o, "Kettleby", _v(color="black", price="88", available=40))
    assert reason == Reason(available=40, same_brand=True, color="black", instead_of=("blue",), price_change=-12.0)
    assert reason_text(reason, TODAY) == "same brand, black instead of blue, 12% cheaper, 40 in stock"
    undated = reason_for(o, "Other", _v(color="blue", available=0, preorder=4))
    assert reason_text(undated, TODAY) == "by Other, same price, pre-order, date not confirmed yet"
    due = TODAY + dt.timedelta(days=9)
    dated = reason_for(o, "Other", _v(color="blue", available=0, preorder=4, eta=due))
    assert dated.eta == due and reason_text(dated, TODAY).endswith(f"pre-order, due around {day(due, TODAY)}")
    assert reason_text(reason_for(o, "Other", _v(color="blue", price="110")), TODAY).startswith("by Other, 10% more")


# --------------------------------------------------------------------------- the demo store

@pytest.fixture(scope="module")
def subs_db(seeded_sqlite, tmp_path_factory):
    """A copy of the seeded demo store with its substitutes index built once."""
    url = copy_sqlite(seeded_sqlite, tmp_path_factory.mktemp("subs") / "catalog.db")
    build_index(UnitOfWork(url))
    return url


def _products(url):
    with UnitOfWork(url) as uow:
        return uow.catalog.products()


def _out_of_stock_skus(url, category_word):
    products = [p for p in _products(url) if category_word in p.category]
    with UnitOfWork(url) as uow:
        stock = uow.catalog.sellable_variants([p.id for p in products])
    return [p.variant_skus[0] for p in products if all(v.available <= 0 for v in stock[p.id])]


def test_no_grinder_for_a_coffee_maker_and_no_socks_for_shoes(subs_db):
    by_sku = {s: p for p in _products(subs_db) for s in p.variant_skus}
    for word, forbidden in (("Coffee Machines", "Grinder"), ("Shoes > Running", "Sock")):
        skus = _out_of_stock_skus(subs_db, word)
        assert skus
        for sku in skus:
            for s in find_substitutes(UnitOfWork(subs_db), sku, k=5):
                assert forbidden not in s.title
                assert by_sku[s.sku].category == by_sku[sku].category


@pytest.mark.xfail(strict=True, reason="issue 12: on the feed-like demo store a single-serve coffee maker "
                   "('... Pod/Capsule Coffee Machine') is offered for a drip one ('... Filter Coffee Machine'); "
                   "the same-kind rule of catalog.domain.substitutes / services.substitutes is being reworked")
def test_substitutes_are_of_the_same_kind(subs_db):
    kind = build_demo_store(TODAY).kinds  # the generator's kind of each sku (most have no `type`)
    for word in ("Coffee Machines", "Shoes > Running"):
        for sku in _out_of_stock_skus(subs_db, word):
            assert [s.title for s in find_substitutes(UnitOfWork(subs_db), sku, k=5) if kind[s.sku] != kind[sku]] == []


def test_only_available_items_with_reasons(subs_db):
    answered = 0
    for sku in _out_of_stock_skus(subs_db, ""):
        found = find_substitutes(UnitOfWork(subs_db), sku, k=3)
        answered += bool(found)
        for s in found:
            assert s.available > 0 or s.preorder
            assert isinstance(s.reason, Reason) and s.reason.same_item == s.same_item
            words = reason_text(s.reason, TODAY)
            assert "in stock" in words or "pre-order" in words or "available" in words
            if not s.same_item:
                assert ("same brand" in words or "by " in words)
                assert "cheaper" in words or "more" in words or "same price" in words
    assert answered >= 10


def test_asked_colour_is_respected(subs_db):
    for sku in _out_of_stock_skus(subs_db, "Shoes > Running"):
        for s in find_substitutes(UnitOfWork(subs_db), sku, color="black"):
            assert s.color == "black" or s.same_item


def test_unknown_sku(subs_db):
    with pytest.raises(UnknownSku):
        find_substitutes(UnitOfWork(subs_db), "NOPE-0000")


def test_cli_json_shape(subs_db, capsys):
    from catalog.cli import main

    sku = _out_of_stock_skus(subs_db, "Coffee Machines")[0]
    assert main(["--database-url", subs_db, "substitutes", sku, "--k", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert isinstance(out, list) and len(out) <= 2
    for item in out:
        assert {"sku", "score", "reason", "available", "preorder"} <= set(item)
        assert isinstance(item["score"], float) and isinstance(item["reason"], str)


def test_feedback_is_recorded_and_summarised(subs_db):
    skus = [s for p in _products(subs_db)[:2] for s in p.variant_skus[:1]]
    record_feedback(UnitOfWork(subs_db), skus[0], skus[1], True, "conv-1")
    record_feedback(UnitOfWork(subs_db), skus[0].lower(), skus[1], False, "conv-2")
    with pytest.raises(UnknownSku):
        record_feedback(UnitOfWork(subs_db), skus[0], "NOPE-1", True, None)
    [stats] = feedback_summary(UnitOfWork(subs_db), skus[0])
    assert (stats.accepted, stats.rejected, stats.acceptance_rate) == (1, 1, 0.5)
    with UnitOfWork(subs_db) as uow:
        assert uow.session.execute(select(SubstituteFeedback.sku)).scalars().all() == [skus[0], skus[0]]


def test_merchant_sees_feedback_from_the_cli(subs_db, capsys):
    from catalog.cli import main

    skus = [s for p in _products(subs_db)[10:13] for s in p.variant_skus[:1]]  # none used by other tests
    for other, accepted in ((skus[1], True), (skus[1], True), (skus[2], False)):
        record_feedback(UnitOfWork(subs_db), skus[0], other, accepted, "conv")
    assert main(["--database-url", subs_db, "substitute-feedback", skus[0], "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["substitute_sku"], r["accepted"], r["rejected"]) for r in rows] == [(skus[1], 2, 0), (skus[2], 0, 1)]
    assert main(["--database-url", subs_db, "substitute-feedback"]) == 0
    table = capsys.readouterr().out
    assert skus[1] in table and "100%" in table and "0%" in table


def test_feedback_on_both_engines(db_url):
    from catalog.services.importing import import_raw_rows
    from catalog.importing.reader import RawRow

    rows = [{"sku": f"T-{i}", "title": f"Thing {i}", "description": "", "category": "A > B", "price": "10",
             "on_hand": "1"} for i in (1, 2)]
    import_raw_rows(UnitOfWork(db_url), (RawRow(i + 2, r) for i, r in enumerate(rows)), reference="t")
    assert record_feedback(UnitOfWork(db_url), "T-1", "T-2", True, "c") > 0
    assert feedback_summary(UnitOfWork(db_url))[0].accepted == 1


# --------------------------------------------------------------------------- incremental index

class CountingEmbedder:
    """Deterministic vectors from the text's hash; counts what it was asked to embed."""

    def __init__(self):
        self.calls = 0

    def encode(self, texts, **kwargs):
        self.calls += len(texts)
        out = np.zeros((len(texts), DIMENSION), dtype="float32")
        for i, t in enumerate(texts):
            rng = np.random.default_rng(int(hashlib.sha1(t.encode()).hexdigest()[:8], 16))
            v = rng.standard_normal(DIMENSION).astype("float32")
            out[i] = v / np.linalg.norm(v)
        return out


def _copy_without_substitutes_index(seeded_sqlite, target) -> str:
    """A copy of the demo store whose substitutes index is still to be built."""
    url = copy_sqlite(seeded_sqlite, target)
    path = substitutes_index_path(url)
    for file in (path, path.with_suffix(path.suffix + ".json")):
        file.unlink(missing_ok=True)
    return url


def test_index_is_incremental(seeded_sqlite, tmp_path):
    url = _copy_without_substitutes_index(seeded_sqlite, tmp_path / "catalog.db")
    emb = CountingEmbedder()
    first = build_index(UnitOfWork(url), emb)
    assert first.embedded == first.total == len(_products(url)) and substitutes_index_path(url).exists()
    assert build_index(UnitOfWork(url), emb).embedded == 0

    target = _products(url)[5]
    with UnitOfWork(url) as uow:
        uow.session.execute(update(Product).where(Product.id == target.id)
                            .values(description=target.description + " Now quieter."))
        uow.commit()
    report = build_index(UnitOfWork(url), emb)
    assert (report.embedded, report.removed) == (1, 0)

    from catalog.importing.reader import RawRow
    from catalog.services.importing import import_raw_rows

    row = {"sku": "GONE-1", "title": "Short-Lived Drip Coffee Maker", "description": "soon deleted",
           "category": "Kitchen > Coffee Machines", "price": "50", "on_hand": "0"}
    import_raw_rows(UnitOfWork(url), [RawRow(2, row)], reference="t")
    assert build_index(UnitOfWork(url), emb).embedded == 1
    with UnitOfWork(url) as uow:
        pid = uow.catalog.product_id_for_sku("GONE-1")
        uow.session.execute(text("DELETE FROM variants WHERE product_id = :p"), {"p": pid})
        uow.session.execute(text("DELETE FROM products WHERE id = :p"), {"p": pid})
        uow.commit()
    report = build_index(UnitOfWork(url), emb)
    assert (report.embedded, report.removed) == (0, 1)
    index = load_index(url)
    assert pid not in index.vectors.hashes and pid not in index.vectors.payload and len(index) == first.total

    # A variant's attributes are part of the product's text: editing one re-embeds it.
    with UnitOfWork(url) as uow:
        variant = uow.session.execute(select(Variant).where(Variant.product_id == target.id)).scalars().first()
        variant.attributes = {**(variant.attributes or {}), "material": "recycled aluminium"}
        uow.commit()
    assert build_index(UnitOfWork(url), emb).embedded == 1


def test_update_reads_only_what_changed_since_the_last_run_and_full_reads_all(seeded_sqlite, tmp_path):
    url = copy_sqlite(seeded_sqlite, tmp_path / "catalog.db")
    emb = CountingEmbedder()
    build_index(UnitOfWork(url), emb)
    target = _products(url)[7]
    long_ago = dt.datetime(2000, 1, 1)
    with UnitOfWork(url) as uow:  # an edit stamped before the watermark (a clock gone wrong)
        uow.session.execute(update(Product).where(Product.id == target.id)
                            .values(description="Rewritten.", updated_at=long_ago))
        uow.session.execute(update(Variant).where(Variant.product_id == target.id).values(updated_at=long_ago))
        uow.commit()
    assert build_index(UnitOfWork(url), emb).embedded == 0  # not looked at: nothing after the watermark
    assert build_index(UnitOfWork(url), emb, full=True).embedded == 1


OLD_META_FORMATS = {
    "format 1": lambda ids, hashes, payload: {str(i): h for i, h in zip(ids, hashes)},
    "format 2": lambda ids, hashes, payload: {"format": 2, "hashes": {str(i): h for i, h in zip(ids, hashes)},
                                              "payload": {str(i): p for i, p in zip(ids, payload)},
                                              "watermark": None},
    "a later format": lambda ids, hashes, payload: {"format": FORMAT + 1, "ids": ids, "hashes": hashes,
                                                    "payload": payload, "watermark": None},
}


@pytest.mark.parametrize("old", OLD_META_FORMATS)
def test_an_index_of_an_unknown_format_is_rebuilt(seeded_sqlite, tmp_path, old):
    url = _copy_without_substitutes_index(seeded_sqlite, tmp_path / "first.db")
    emb = CountingEmbedder()
    first = build_index(UnitOfWork(url), emb)
    # The same catalog and index files beside another database, not yet loaded by this
    # process, whose meta file is in a format the reader does not know.
    other = copy_sqlite(url, tmp_path / "other.db")
    meta = substitutes_index_path(other).with_suffix(".faiss.json")
    data = json.loads(meta.read_text())
    assert data["format"] == FORMAT and substitutes_index_path(other).exists()
    meta.write_text(json.dumps(OLD_META_FORMATS[old](data["ids"], data["hashes"], data["payload"])))
    stale = load_index(other)
    assert len(stale) == 0 and not stale.vectors.payload  # not trusted
    emb.calls = 0
    report = build_index(UnitOfWork(other), emb)
    assert report.embedded == report.total == first.total and emb.calls == first.total  # every product again
    assert json.loads(meta.read_text())["format"] == FORMAT
    index = load_index(other)
    assert len(index) == first.total and len(index.vectors.payload) == first.total
    for p in _products(other):  # what the product says of its kind, then its group and reading
        *own, (group, *reading) = index.vectors.payload[p.id]
        assert own == kind_payload(p) and isinstance(group, str) and index.product_kind(p.id).group == group


def test_a_process_serving_queries_reloads_the_index_another_process_rebuilt(seeded_sqlite, tmp_path):
    import subprocess
    import sys

    url = copy_sqlite(seeded_sqlite, tmp_path / "catalog.db")
    build_index(UnitOfWork(url), CountingEmbedder())
    before = load_index(url)
    target = _products(url)[3]
    with UnitOfWork(url) as uow:
        uow.session.execute(update(Product).where(Product.id == target.id)
                            .values(description=target.description + " Now in a gift box."))
        uow.commit()
    done = subprocess.run([sys.executable, "-m", "catalog", "index", "--quiet"], capture_output=True, text=True,
                          env={**os.environ, "DATABASE_URL": url}, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "1 embedded" in done.stdout
    after = load_index(url)
    assert after is not before
    assert after.vectors.hashes[target.id] != before.vectors.hashes[target.id]


# --------------------------------------------------------------------------- a catalog without types

MERCHANT_ROWS = [
    # sku, title, brand, category, price, on_hand, description
    ("M-DRIP-1", "Crema Drip Coffee Maker", "Kettleby", "Kitchen > Small Appliances", "80", 0,
     "Brews a 12-cup carafe of filter coffee with a warming plate."),
    ("M-DRIP-2", "Uplift Drip Coffee Maker", "Copperline", "Kitchen > Small Appliances", "85", 12,
     "Programmable drip brewer with a glass carafe for 10 cups."),
    ("M-POD-1", "Brewline Single-Serve Coffee Maker", "Ostara", "Kitchen > Small Appliances", "79", 30,
     "Brews one cup at a time from coffee pods."),
    ("M-POD-2", "Roastery Single-Serve Coffee Maker", "Morning Ritual", "Kitchen > Small Appliances", "82", 25,
     "Single cup pod coffee brewer."),
    ("M-ICE-1", "Frost Ice Cream Maker", "Chillwell", "Kitchen > Small Appliances", "90", 0,
     "Churns ice cream and sorbet in 20 minutes."),
    ("M-SER-1", "Glow Serum", "Elan Atelier", "Beauty > Skincare", "30", 0,
     "Vitamin C serum that brightens dull skin."),
    ("M-SER-2", "Calm Serum", "Dewdrop Botanics", "Beauty > Skincare", "32", 15,
     "Soothing serum with niacinamide for sensitive skin."),
    ("M-MOI-1", "Glow Moisturizer", "Dewdrop Botanics", "Beauty > Skincare", "28", 40,
     "Light daily moisturizer with vitamin C."),
]


@pytest.fixture(scope="module")
def merchant_db(tmp_path_factory):
    """A merchant's catalog in the contract's format, with no `type` attribute: the kind
    of product comes from titles alone."""
    from tests.demo import indexed_feed

    return indexed_feed(tmp_path_factory.mktemp("merchant"),
                        ["sku", "title", "brand", "category", "price", "on_hand", "description"], MERCHANT_ROWS)


def _skus(url, sku):
    return [s.sku for s in find_substitutes(UnitOfWork(url), sku, k=5)]


def test_merchant_catalog_sub_kinds_from_titles(merchant_db):
    assert _skus(merchant_db, "M-DRIP-1") == ["M-DRIP-2"]  # not the pod machines


def test_a_name_before_a_one_word_kind_is_not_a_kind(merchant_db):
    """Glow Serum and Calm Serum share no two final words, but both are serums; the
    Glow Moisturizer shares the name and is not one."""
    assert _skus(merchant_db, "M-SER-1") == ["M-SER-2"]


def test_a_lone_ice_cream_maker_gets_no_coffee_maker(merchant_db):
    assert _skus(merchant_db, "M-ICE-1") == []


def test_a_product_type_column_counts_as_the_type():
    title = "Kestrel Trail Running Shoe"
    assert kind_of(title, "Alto", "Shoes > Running", {"Product Type": "Trail shoes"}).type_attr == "trail shoe"
    assert kind_of(title, "Alto", "Shoes > Running", {"product_type": "Trail shoes"}).type_attr == "trail shoe"
