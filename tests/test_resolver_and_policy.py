"""Product resolution without the NLU, and the merchant's policy file."""
from __future__ import annotations

import time

import pytest

from catalog.policy import PolicyStore
from catalog.search.resolver import ProductResolver
from catalog.search.text import product_query, sku_candidates
from catalog.uow import UnitOfWork
from tests.conftest import ROOT


def test_product_query_drops_question_framing():
    assert product_query("Hi! Do you still have the Ridgeline trail runner in stock??") == "ridgeline trail runner"
    assert product_query("when will it be back?") == ""
    assert sku_candidates("is SHO-01234 or kit0042 there?") == ["SHO-01234", "kit0042"]


def test_fuzzy_resolution_without_embeddings(seeded_sqlite):
    resolver = ProductResolver(lambda: UnitOfWork(seeded_sqlite), embedder=None)
    with UnitOfWork(seeded_sqlite) as uow:
        product = uow.catalog.products()[5]
    found = resolver.resolve(f"do you have the {product.title.lower()}?")
    assert product.id in [m.product.id for m in found.matches]
    assert resolver.resolve(product.variant_skus[0].lower()).found.product.id == product.id


def test_gibberish_matches_nothing_without_embeddings(seeded_sqlite):
    resolver = ProductResolver(lambda: UnitOfWork(seeded_sqlite), embedder=None)
    assert resolver.resolve("zxqv wplk").matches == ()


def test_policy_topics_by_entity_and_by_keywords(tmp_path):
    store = PolicyStore(ROOT / "policies.yml")
    policies = store.get()
    assert policies.find("refund").key == "refunds"
    assert policies.find(None, "can I pre-order the blue one?").key == "preorders"
    assert policies.find(None, "tell me about store credit").key == "store_credit"
    assert str(policies.store_credit_bonus_percent) == "10"


def test_policy_file_edits_apply_and_a_broken_edit_keeps_the_last_good_version(tmp_path):
    path = tmp_path / "p.yml"
    path.write_text("topics:\n  delays:\n    title: Delays\n    keywords: [late]\n    answer: We say sorry.\n")
    store = PolicyStore(path)
    assert store.get().find("delays").answer == "We say sorry."
    time.sleep(0.01)
    path.write_text("topics: [this is: not valid")
    import os
    os.utime(path, (time.time() + 5, time.time() + 5))
    assert store.get().find("delays").answer == "We say sorry."


def test_restock_hold_time_comes_from_the_policy_file(tmp_path, monkeypatch):
    import datetime as dt

    from catalog.policy import restock_hold, shared_store

    assert restock_hold(PolicyStore(ROOT / "policies.yml")) == dt.timedelta(hours=4)
    path = tmp_path / "p.yml"
    path.write_text("restock_hold_hours: 1.5\ntopics:\n  delays:\n    title: D\n    keywords: [late]\n    answer: x\n")
    assert restock_hold(PolicyStore(path)) == dt.timedelta(hours=1.5)
    # The process's own reader follows POLICY_FILE once it is read afresh.
    monkeypatch.setenv("POLICY_FILE", str(path))
    shared_store.cache_clear()
    try:
        assert restock_hold() == dt.timedelta(hours=1.5)
    finally:
        shared_store.cache_clear()  # the next reader is made after POLICY_FILE is restored


def test_a_full_product_name_wins_even_when_the_nlu_span_is_cut_short(seeded_sqlite):
    resolver = ProductResolver(lambda: UnitOfWork(seeded_sqlite), embedder=None)
    with UnitOfWork(seeded_sqlite) as uow:
        titles = [p.title for p in uow.catalog.products()]
    title = next(t for t in titles if titles.count(t) == 1 and len(t.split()) >= 3)
    first_word = title.split()[0]
    found = resolver.resolve(f"is the {title} in stock?", hint=" ".join(title.split()[1:]), ignore_words=(first_word,))
    assert found.found is not None and found.found.product.title == title
