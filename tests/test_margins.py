"""The merchant's margin preference: the rule, the unit cost from the import, the policy
setting, and substitutes on an invented catalog in a real SQLite file (real index)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from catalog.db.migrate import upgrade
from catalog.db.orm import Supplier, SupplierOffer, Variant
from catalog.domain.margins import prefer_margin, unit_margin
from catalog.importing.reader import RawRow
from catalog.policy import PolicyStore, SteeringSettings, steering_settings
from catalog.services.importing import import_raw_rows
from catalog.services.substitutes import build_index, find_substitutes
from catalog.uow import UnitOfWork
from tests.conftest import ROOT, TODAY


# --------------------------------------------------------------------------- the rule

@dataclasses.dataclass(frozen=True)
class Sub:
    name: str
    score: float
    margin: Decimal | None
    preorder: bool = False
    same_item: bool = False


def _order(subs: list[Sub], tolerance: float) -> list[str]:
    out = prefer_margin(subs, tier=lambda s: (s.same_item, s.preorder), score=lambda s: s.score,
                        margin=lambda s: s.margin, tolerance=tolerance)
    return [s.name for s in out]


def test_margin_reorders_near_equals_only():
    subs = [Sub("a", 0.90, Decimal("5")), Sub("b", 0.88, Decimal("20")), Sub("c", 0.70, Decimal("50"))]
    assert _order(subs, 0.05) == ["b", "a", "c"]  # c scores 0.20 less: stays last despite its margin
    assert _order(subs, 0.0) == ["a", "b", "c"]  # no ties: nothing moves
    assert _order(subs, 1.0) == ["c", "b", "a"]  # the whole tier is near-equal


def test_margin_never_crosses_availability_or_the_same_item():
    subs = [Sub("twin", 2.5, Decimal("1"), same_item=True), Sub("shelf", 0.9, Decimal("2")),
            Sub("shelf-rich", 0.85, Decimal("9")), Sub("pre", 0.95, Decimal("99"), preorder=True)]
    assert _order(subs, 10.0) == ["twin", "shelf-rich", "shelf", "pre"]


def test_an_unknown_margin_keeps_its_place():
    subs = [Sub("a", 0.9, None), Sub("b", 0.9, Decimal("30")), Sub("c", 0.9, Decimal("10")), Sub("d", 0.9, None),
            Sub("e", 0.9, Decimal("99"))]
    assert _order(subs, 0.1) == ["a", "b", "c", "d", "e"]
    assert _order([Sub("x", 0.9, None), Sub("y", 0.8, None)], 1.0) == ["x", "y"]


def test_margin_needs_cost_and_price_in_one_currency():
    assert unit_margin(Decimal("50"), "USD", Decimal("30"), "USD") == Decimal("20")
    assert unit_margin(Decimal("50"), "USD", Decimal("30"), "EUR") is None
    assert unit_margin(Decimal("50"), "USD", None, None) is None


# --------------------------------------------------------------------------- the policy file

def test_steering_settings_come_from_the_policy_file(tmp_path):
    base = (ROOT / "policies.yml").read_text()
    path = tmp_path / "policies.yml"
    path.write_text(base)
    store = PolicyStore(path)
    assert steering_settings(store) == SteeringSettings(False, 0.05, 2)
    path.write_text(base.replace("prefer_higher_margin_substitutes: false", "prefer_higher_margin_substitutes: true")
                    .replace("margin_preference_tolerance: 0.05", "margin_preference_tolerance: 0.2")
                    .replace("goes_with_suggestions: 2", "goes_with_suggestions: 0"))
    _touch(path, 1)
    assert steering_settings(store) == SteeringSettings(True, 0.2, 0)
    # A typo does not turn the merchant's choice around: the last good version stays.
    path.write_text(base.replace("prefer_higher_margin_substitutes: false", "prefer_higher_margin_substitutes: maybe"))
    _touch(path, 2)
    assert steering_settings(store) == SteeringSettings(True, 0.2, 0)


def _touch(path, step: int) -> None:
    """A new modification time, without waiting for the clock to tick."""
    import os

    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + step * 1_000_000_000))


# --------------------------------------------------------------------------- the import

def _row(sku, title, brand, price, on_hand, category="Kitchen > Kettles", typ="electric kettle", **extra) -> dict:
    row = {"sku": sku, "title": title, "brand": brand, "category": category, "price": price,
           "on_hand": str(on_hand), "description": f"{title} by {brand}.", "attributes": json.dumps({"type": typ})}
    row.update({k: str(v) for k, v in extra.items()})
    return row


def _import(url: str, rows: list[dict]):
    report = import_raw_rows(UnitOfWork(url), [RawRow(i + 2, r) for i, r in enumerate(rows)], reference="test")
    assert not report.errors, report.errors
    return report


def _offers(url: str) -> dict[str, list[tuple]]:
    with UnitOfWork(url) as uow:
        rows = uow.session.execute(
            select(Variant.sku, Supplier.name, SupplierOffer.unit_cost, SupplierOffer.is_primary)
            .join(SupplierOffer, SupplierOffer.variant_id == Variant.id)
            .join(Supplier, SupplierOffer.supplier_id == Supplier.id).order_by(SupplierOffer.id)).all()
    out: dict[str, list[tuple]] = {}
    for sku, name, cost, primary in rows:
        out.setdefault(sku, []).append((name, cost, primary))
    return out


def test_supplier_cost_is_the_usual_suppliers_unit_cost(db_url):
    _import(db_url, [
        _row("KT-1", "Sprell Gooseless Kettle", "Sprell", "40", 3, supplier="Norvik Supply", supplier_cost="22.50"),
        _row("KT-2", "Sprell Steamline Kettle", "Sprell", "45", 3, supplier_cost="19"),  # no supplier named
        _row("KT-3", "Sprell Plain Kettle", "Sprell", "30", 3, supplier="Norvik Supply"),
    ])
    assert _offers(db_url) == {"KT-1": [("Norvik Supply", Decimal("22.50"), True)],
                               "KT-2": [("Unspecified supplier", Decimal("19.00"), True)],
                               "KT-3": [("Norvik Supply", None, True)]}
    with UnitOfWork(db_url) as uow:
        attrs = uow.session.execute(select(Variant.attributes).where(Variant.sku == "KT-1")).scalar_one()
        assert "supplier_cost" not in attrs  # a known column, not an attribute shoppers' search reads
        assert uow.catalog.unit_costs(["KT-1", "KT-2", "KT-3"]) == {"KT-1": (Decimal("22.50"), "USD"),
                                                                     "KT-2": (Decimal("19.00"), "USD")}
    # A later file: a new cost for the usual supplier, whoever it is.
    _import(db_url, [_row("KT-1", "Sprell Gooseless Kettle", "Sprell", "40", 3, supplier_cost="21")])
    assert _offers(db_url)["KT-1"] == [("Norvik Supply", Decimal("21.00"), True)]


def test_a_bad_supplier_cost_is_reported():
    from catalog.importing.rows import parse_row

    row, errors = parse_row(7, _row("KT-9", "Sprell Kettle", "Sprell", "40", 1, supplier_cost="-3"))
    assert row is None and [str(e) for e in errors] == ["line 7, column supplier_cost: must be >= 0, got -3"]
    row, errors = parse_row(8, _row("KT-9", "Sprell Kettle", "Sprell", "40", 1, supplier_cost="cheap"))
    assert [str(e) for e in errors] == ["line 8, column supplier_cost: expected a decimal number, got 'cheap'"]


# --------------------------------------------------------------------------- substitutes

@pytest.fixture(scope="module")
def kettles(tmp_path_factory) -> str:
    """Electric kettles of several brands, one out of stock, with the merchant's unit costs;
    a milk frother of the wanted one's brand, at a huge margin, that is no kettle."""
    url = f"sqlite:///{tmp_path_factory.mktemp('margins') / 'catalog.db'}"
    upgrade(url)
    eta = (TODAY + dt.timedelta(days=20)).isoformat()
    _import(url, [
        _row("EK-WANT", "Oskovo Electric Kettle 1.7 L", "Oskovo", "50", 0, supplier="Norvik Supply",
             supplier_cost="30"),
        *_shelf({"EK-A": "30", "EK-B": "30"}),  # the tests give them costs
        _row("EK-PRE", "Marlet Electric Kettle 1.7 L", "Marlet", "51", 0, supplier="Norvik Supply",
             supplier_cost="5", incoming_qty=6, incoming_eta=eta),  # earns 46, only a pre-order
        _row("EK-GONE", "Tembo Electric Kettle 1.7 L", "Tembo", "50", 0, supplier="Norvik Supply",
             supplier_cost="1"),  # nothing to sell
        _row("MF-RICH", "Oskovo Milk Frother", "Oskovo", "48", 10, category="Kitchen > Kettles", typ="milk frother",
             supplier="Norvik Supply", supplier_cost="2"),
    ])
    build_index(UnitOfWork(url))
    return url


def _shelf(costs: dict[str, str]) -> list[dict]:
    """The two kettles on the shelf, at these unit costs."""
    return [_row("EK-A", "Dunmark Electric Kettle 1.7 L", "Dunmark", "50", 10, supplier="Norvik Supply",
                 supplier_cost=costs["EK-A"]),
            _row("EK-B", "Fennow Electric Kettle 1.5 L", "Fennow", "56", 10, supplier="Norvik Supply",
                 supplier_cost=costs["EK-B"])]


def _richer_second(url: str) -> tuple[list[str], dict[str, float]]:
    """The ranking's order and scores, with unit costs set so that the shelf's second
    kettle earns more than its first (whichever the embeddings rank first)."""
    ranked = find_substitutes(UnitOfWork(url), "EK-WANT", k=5, steering=SteeringSettings())
    first, second = [s.sku for s in ranked if s.sku in ("EK-A", "EK-B")]
    _import(url, _shelf({first: "45", second: "20"}))
    return [s.sku for s in ranked], {s.sku: s.score for s in ranked}


def _skus(url: str, steering: SteeringSettings) -> list[str]:
    return [s.sku for s in find_substitutes(UnitOfWork(url), "EK-WANT", k=5, steering=steering)]


def test_with_the_setting_off_the_order_is_the_rankings(kettles, monkeypatch):
    plain, _ = _richer_second(kettles)
    # The two kettles on the shelf: the pre-order is offered only when nothing of the kind
    # is on the shelf, and the frother (of the wanted kettle's brand) is another kind.
    assert sorted(plain) == ["EK-A", "EK-B"]
    assert _skus(kettles, SteeringSettings()) == plain
    # The shipped policy file leaves it off as well.
    monkeypatch.setenv("POLICY_FILE", str(ROOT / "policies.yml"))
    from catalog.policy import shared_store

    shared_store.cache_clear()
    try:
        assert [s.sku for s in find_substitutes(UnitOfWork(kettles), "EK-WANT", k=5)] == plain
    finally:
        shared_store.cache_clear()


def test_higher_margin_first_within_the_kind_and_never_over_availability(kettles):
    plain, scores = _richer_second(kettles)
    steered = _skus(kettles, SteeringSettings(prefer_higher_margin=True, margin_tolerance=1.0))
    # The richer kettle first although it scores less; the pre-order, richest of all (46),
    # does not jump over the shelf; the frother (another kind, richer still) and the
    # kettle with nothing to sell never come.
    assert steered == [plain[1], plain[0]]
    assert scores[plain[1]] < scores[plain[0]]
    # A tolerance smaller than the gap in score leaves the ranking's order, and so does 0.
    gap = scores[plain[0]] - scores[plain[1]]
    assert _skus(kettles, SteeringSettings(prefer_higher_margin=True, margin_tolerance=gap / 2)) == plain
    assert _skus(kettles, SteeringSettings(prefer_higher_margin=True, margin_tolerance=0.0)) == plain


def test_the_setting_from_the_policy_file_reaches_the_suggestions(kettles, monkeypatch, tmp_path):
    from catalog.policy import shared_store

    plain, _ = _richer_second(kettles)
    path = tmp_path / "policies.yml"
    path.write_text((ROOT / "policies.yml").read_text()
                    .replace("prefer_higher_margin_substitutes: false", "prefer_higher_margin_substitutes: true")
                    .replace("margin_preference_tolerance: 0.05", "margin_preference_tolerance: 1.0"))
    monkeypatch.setenv("POLICY_FILE", str(path))
    shared_store.cache_clear()
    try:
        from_file = [s.sku for s in find_substitutes(UnitOfWork(kettles), "EK-WANT", k=5)]
    finally:
        shared_store.cache_clear()
    assert from_file == [plain[1], plain[0]]
