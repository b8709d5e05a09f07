"""`python -m catalog import`: upserts, per-cell error reports, hostile files."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

from sqlalchemy import func, select

from catalog.db.orm import Product, PurchaseOrderLine, StockLevel, StockMovement, Supplier, SupplierOffer, Variant
from catalog.services.importing import import_file
from tests.conftest import ROOT, TODAY, write_csv

HEADER = ["sku", "title", "description", "category", "price", "on_hand", "brand", "attributes",
          "reserved", "safety_stock", "supplier", "supplier_lead_time_days", "incoming_qty", "incoming_eta"]


def _row(sku, title="Trail Runner", on_hand="5", attrs='{"color": "black", "size": "42"}', **kw):
    values = dict(sku=sku, title=title, description="A shoe", category="Shoes > Running", price="99.90",
                  on_hand=on_hand, brand="Acme", attributes=attrs, reserved="", safety_stock="", supplier="Fast Co",
                  supplier_lead_time_days="7", incoming_qty="", incoming_eta="")
    values.update(kw)
    return [values[h] for h in HEADER]


def _due(days: int) -> str:
    """An incoming delivery's date as a catalog file writes it, `days` after the tests' today."""
    return (TODAY + dt.timedelta(days=days)).isoformat()


def _count(uow_factory, model):
    with uow_factory() as uow:
        return uow.session.execute(select(func.count()).select_from(model)).scalar()


def test_good_rows_import_and_variants_group_into_one_product(uow_factory, tmp_path):
    path = write_csv(tmp_path / "c.csv", HEADER, [
        _row("A-1"), _row("A-2", attrs='{"color": "blue", "size": "42"}'), _row("B-1", title="Espresso Cups")])
    report = import_file(uow_factory(), path)
    assert (report.created, report.updated, report.errors) == (3, 0, [])
    assert _count(uow_factory, Product) == 2
    with uow_factory() as uow:
        blue = uow.session.execute(select(Variant).where(Variant.sku == "A-2")).scalar_one()
        assert (blue.color, blue.size, str(blue.price)) == ("blue", "42", "99.90")
        assert blue.product.title == "Trail Runner" and len(blue.product.variants) == 2


def test_reimport_updates_by_sku_without_duplicates_and_logs_stock_movements(uow_factory, tmp_path):
    import_file(uow_factory(), write_csv(tmp_path / "a.csv", HEADER, [_row("A-1", on_hand="5")]))
    report = import_file(uow_factory(), write_csv(tmp_path / "b.csv", HEADER, [_row("A-1", on_hand="12", reserved="2")]))
    assert (report.created, report.updated) == (0, 1)
    assert _count(uow_factory, Variant) == 1 and _count(uow_factory, StockLevel) == 1
    with uow_factory() as uow:
        moves = uow.session.execute(select(StockMovement.on_hand_delta, StockMovement.reserved_delta)
                                    .order_by(StockMovement.id)).all()
        level = uow.session.execute(select(StockLevel.on_hand, StockLevel.reserved)).one()
    assert [tuple(m) for m in moves] == [(5, 0), (7, 2)]
    assert tuple(level) == (12, 2)
    assert report.restocked_variant_ids  # on_hand went up: later alert flows need to know


def test_every_bad_cell_is_reported_with_line_column_and_reason_and_good_rows_stay(uow_factory, tmp_path):
    path = write_csv(tmp_path / "bad.csv", HEADER, [
        _row("OK-1"),
        _row("BAD-1", on_hand="-3", attrs="{not json", price="abc"),
        _row("", title=""),
        _row("BAD-2", incoming_qty="4", incoming_eta="2026-02-30"),
        _row("OK-2", title="Grinder"),
    ])
    report = import_file(uow_factory(), path)
    found = {(e.line, e.column) for e in report.errors}
    assert {(3, "on_hand"), (3, "attributes"), (3, "price"), (4, "sku"), (4, "title"), (5, "incoming_eta")} <= found
    assert all(e.reason for e in report.errors)
    assert report.rejected_rows == 3 and report.imported == 2
    with uow_factory() as uow:
        assert set(uow.session.execute(select(Variant.sku)).scalars()) == {"OK-1", "OK-2"}


def test_jsonl_unknown_columns_become_attributes_and_bad_json_lines_are_reported(uow_factory, tmp_path):
    path = tmp_path / "c.jsonl"
    good = dict(sku="J-1", title="Yoga Mat", description="", category="Sports > Yoga", price=25, on_hand=3,
                attributes={"color": "green"}, material="cork", incoming_qty=10, incoming_eta=_due(15),
                supplier="Mat Co")
    path.write_text(json.dumps(good) + "\n\n{broken\n" + json.dumps([1, 2]) + "\n")
    report = import_file(uow_factory(), path)
    assert report.imported == 1
    assert [(e.line, e.reason.split(" ")[0]) for e in report.errors] == [(3, "invalid"), (4, "expected")]
    with uow_factory() as uow:
        variant = uow.session.execute(select(Variant)).scalar_one()
        line = uow.session.execute(select(PurchaseOrderLine)).scalar_one()
        uow.session.expunge_all()
    assert variant.attributes == {"color": "green", "material": "cork"}
    assert variant.preorder_allowed is True  # default when units are incoming
    assert (line.quantity, line.eta, line.status) == (10, TODAY + dt.timedelta(days=15), "open")


def test_changed_incoming_replaces_the_import_managed_po_line(uow_factory, tmp_path):
    import_file(uow_factory(), write_csv(tmp_path / "a.csv", HEADER, [
        _row("A-1", on_hand="0", incoming_qty="10", incoming_eta=_due(13))]))
    import_file(uow_factory(), write_csv(tmp_path / "b.csv", HEADER, [
        _row("A-1", on_hand="0", incoming_qty="10", incoming_eta=_due(13))]))
    import_file(uow_factory(), write_csv(tmp_path / "c.csv", HEADER, [
        _row("A-1", on_hand="0", incoming_qty="6", incoming_eta=_due(23))]))
    with uow_factory() as uow:
        lines = uow.session.execute(select(PurchaseOrderLine.quantity, PurchaseOrderLine.status)
                                    .order_by(PurchaseOrderLine.id)).all()
        offer = uow.session.execute(select(SupplierOffer, Supplier).join(Supplier)).one()
        uow.session.expunge_all()
    assert [tuple(x) for x in lines] == [(10, "cancelled"), (6, "open")]
    assert offer[0].is_primary and offer[0].lead_time_days == 7 and offer[1].name == "Fast Co"


def test_hostile_values_are_stored_as_plain_text(uow_factory, tmp_path):
    nasty = "'); DROP TABLE products; -- <script>alert(1)</script> 👟"
    path = write_csv(tmp_path / "h.csv", HEADER, [
        _row("H-1", title=nasty, description="line one\nline two, \"quoted\""),
        _row("H-2", title="x" * 501),
        _row("H-3" + "9" * 70),
    ])
    report = import_file(uow_factory(), path)
    assert report.imported == 1
    assert {(e.line, e.column) for e in report.errors} == {(4, "title"), (5, "sku")}
    with uow_factory() as uow:
        product = uow.session.execute(select(Product)).scalar_one()
        uow.session.expunge_all()
    assert product.title == nasty and product.description == 'line one\nline two, "quoted"'


def test_cli_exits_non_zero_on_rejected_rows_and_zero_on_a_clean_file(db_url, tmp_path):
    bad = write_csv(tmp_path / "bad.csv", HEADER, [_row("A-1"), _row("A-2", price="-1")])
    good = write_csv(tmp_path / "good.csv", HEADER, [_row("A-1")])
    run = lambda p: subprocess.run([sys.executable, "-m", "catalog", "--database-url", db_url, "import", str(p)],
                                   cwd=ROOT, capture_output=True, text=True, timeout=120)
    failed, ok = run(bad), run(good)
    assert failed.returncode == 1 and "line 3, column price: must be >= 0" in failed.stderr
    assert "imported 1 rows" in failed.stdout and "rejected 1 rows" in failed.stdout
    assert ok.returncode == 0 and "rejected 0 rows" in ok.stdout


def test_cli_reports_missing_file_and_non_utf8_file(sqlite_url, tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes(",".join(HEADER).encode() + b"\nL-1,Caf\xe9,,Food,1,1,,,,,,,,\n")
    missing = subprocess.run([sys.executable, "-m", "catalog", "--database-url", sqlite_url, "import", "nope.csv"],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
    wrong = subprocess.run([sys.executable, "-m", "catalog", "--database-url", sqlite_url, "import", str(latin)],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "no such file" in missing.stderr
    assert wrong.returncode == 1 and "not valid UTF-8" in wrong.stderr


def test_import_into_unreachable_database_fails_with_a_clear_message(tmp_path):
    path = write_csv(tmp_path / "a.csv", HEADER, [_row("A-1")])
    result = subprocess.run(
        [sys.executable, "-m", "catalog", "--database-url", "postgresql+psycopg://nobody:secret@127.0.0.1:1/none",
         "import", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "cannot open or migrate the database" in result.stderr
    assert "secret" not in result.stderr
