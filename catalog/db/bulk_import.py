"""Upsert validated catalog rows in batches.

Row-by-row ORM work would take minutes for a 100,000-row file, so each batch is
written with a handful of set-based statements: look up what exists, insert what is
new (RETURNING ids), update what changed, and log every stock change as a movement.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from catalog.db.orm import (
    Location,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    StockLevel,
    StockMovement,
    Supplier,
    SupplierOffer,
    Variant,
)
from catalog.clock import utcnow
from catalog.domain.statuses import PurchaseOrderSource, PurchaseOrderStatus
from catalog.importing.rows import CatalogRow

UNSPECIFIED_SUPPLIER = "Unspecified supplier"


def group_key(title: str, brand: str | None, category: str) -> str:
    """Identity of a product model: rows sharing it are variants of one product."""
    norm = "|".join(re.sub(r"\s+", " ", part or "").strip().lower() for part in (title, brand, category))
    return hashlib.sha1(norm.encode("utf-8")).hexdigest()


@dataclass
class BatchResult:
    created: int = 0
    updated: int = 0
    stock_changes: int = 0
    restocked_variant_ids: tuple[int, ...] = ()


def main_location_id(session: Session) -> int:
    return session.execute(select(Location.id).where(Location.code == "MAIN")).scalar_one()


def upsert_batch(session: Session, rows: Sequence[CatalogRow], location_id: int, reference: str) -> BatchResult:
    rows = list({r.sku.upper(): r for r in rows}.values())  # within a batch the last row for a sku wins
    result = BatchResult()
    now = utcnow()
    supplier_ids = _ensure_suppliers(session, rows)
    product_ids = _upsert_products(session, rows, now)
    variant_ids, created = _upsert_variants(session, rows, product_ids, now)
    result.created = created
    result.updated = len(rows) - created
    result.stock_changes, result.restocked_variant_ids = _upsert_stock(session, rows, variant_ids, location_id, reference)
    _upsert_primary_offers(session, rows, variant_ids, supplier_ids)
    _sync_incoming(session, rows, variant_ids, supplier_ids, now)
    return result


def _ensure_suppliers(session: Session, rows: Sequence[CatalogRow]) -> dict[str, int]:
    wanted: dict[str, int | None] = {}
    for r in rows:
        name = r.supplier or (UNSPECIFIED_SUPPLIER if r.incoming_qty or r.supplier_cost is not None else None)
        if name and (name not in wanted or wanted[name] is None):
            wanted[name] = r.supplier_lead_time_days if r.supplier else None
    if not wanted:
        return {}
    existing = dict(session.execute(select(Supplier.name, Supplier.id).where(Supplier.name.in_(wanted))).all())
    missing = [{"name": n, "lead_time_days": lead} for n, lead in wanted.items() if n not in existing]
    if missing:
        for name, sid in session.execute(insert(Supplier).returning(Supplier.name, Supplier.id), missing):
            existing[name] = sid
    return existing


def _upsert_products(session: Session, rows: Sequence[CatalogRow], now: dt.datetime) -> dict[str, int]:
    by_key: dict[str, CatalogRow] = {}
    for r in rows:
        by_key[group_key(r.title, r.brand, r.category)] = r
    existing = {
        key: (pid, desc, img)
        for key, pid, desc, img in session.execute(
            select(Product.group_key, Product.id, Product.description, Product.image_url).where(Product.group_key.in_(by_key))
        )
    }
    ids = {key: v[0] for key, v in existing.items()}
    new = [
        dict(group_key=k, title=r.title, brand=r.brand, category=r.category, description=r.description,
             image_url=r.image_url, updated_at=now)
        for k, r in by_key.items() if k not in existing
    ]
    if new:
        for key, pid in session.execute(insert(Product).returning(Product.group_key, Product.id), new):
            ids[key] = pid
    changed = [
        dict(id=existing[k][0], description=r.description, image_url=r.image_url, updated_at=now)
        for k, r in by_key.items()
        if k in existing and (existing[k][1] != r.description or existing[k][2] != r.image_url)
    ]
    if changed:
        session.execute(update(Product), changed)
    return ids


def _upsert_variants(
    session: Session, rows: Sequence[CatalogRow], product_ids: dict[str, int], now: dt.datetime
) -> tuple[dict[str, int], int]:
    keys = [r.sku.upper() for r in rows]
    existing = dict(session.execute(select(Variant.sku_key, Variant.id).where(Variant.sku_key.in_(keys))).all())
    values = []
    for r in rows:
        values.append(dict(
            product_id=product_ids[group_key(r.title, r.brand, r.category)], sku=r.sku, sku_key=r.sku.upper(),
            attributes=r.attributes, color=r.color, size=r.size, price=r.price, currency=r.currency,
            preorder_allowed=r.preorder_allowed, backorder_allowed=r.backorder_allowed,
            max_per_customer=r.max_per_customer, updated_at=now,
        ))
    new = [v for v in values if v["sku_key"] not in existing]
    ids = dict(existing)
    if new:
        for key, vid in session.execute(insert(Variant).returning(Variant.sku_key, Variant.id), new):
            ids[key] = vid
    old = [dict(v, id=existing[v["sku_key"]]) for v in values if v["sku_key"] in existing]
    if old:
        session.execute(update(Variant), old)
    return ids, len(new)


def _upsert_stock(
    session: Session, rows: Sequence[CatalogRow], variant_ids: dict[str, int], location_id: int, reference: str
) -> tuple[int, tuple[int, ...]]:
    vids = [variant_ids[r.sku.upper()] for r in rows]
    existing = {
        vid: (sid, on_hand, reserved)
        for sid, vid, on_hand, reserved in session.execute(
            select(StockLevel.id, StockLevel.variant_id, StockLevel.on_hand, StockLevel.reserved).where(
                StockLevel.variant_id.in_(vids), StockLevel.location_id == location_id
            )
        )
    }
    new, changed, movements, raised = [], [], [], []
    for r in rows:
        vid = variant_ids[r.sku.upper()]
        before = existing.get(vid)
        on_hand_before, reserved_before = (before[1], before[2]) if before else (0, 0)
        if before is None:
            new.append(dict(variant_id=vid, location_id=location_id, on_hand=r.on_hand, reserved=r.reserved,
                            safety_stock=r.safety_stock))
        else:
            changed.append(dict(id=before[0], on_hand=r.on_hand, reserved=r.reserved, safety_stock=r.safety_stock))
        d_on, d_res = r.on_hand - on_hand_before, r.reserved - reserved_before
        if d_on or d_res:
            movements.append(dict(variant_id=vid, location_id=location_id, on_hand_delta=d_on,
                                  reserved_delta=d_res, reason="import", reference=reference))
        if before is not None and d_on > 0:
            raised.append(vid)
    if new:
        session.execute(insert(StockLevel), new)
    if changed:
        session.execute(update(StockLevel), changed)
    if movements:
        session.execute(insert(StockMovement), movements)
    return len(movements), tuple(raised)


def _upsert_primary_offers(
    session: Session, rows: Sequence[CatalogRow], variant_ids: dict[str, int], supplier_ids: dict[str, int]
) -> None:
    """The row's supplier becomes the variant's usual one, at the row's lead time and unit
    cost. A cost without a supplier is the cost of whichever supplier is usual now, or of
    an "Unspecified supplier" when the variant has no offer at all (a primary offer with
    no lead time and unknown stock, which changes no stock answer), so a feed with costs
    and no supplier names still gives margins. A variant with only other suppliers' offers
    keeps them as they are: whose cost it is cannot be told."""
    with_supplier = [r for r in rows if r.supplier]
    cost_only = [r for r in rows if not r.supplier and r.supplier_cost is not None]
    if not with_supplier and not cost_only:
        return
    vids = [variant_ids[r.sku.upper()] for r in with_supplier + cost_only]
    existing: dict[tuple[int, int], int] = {}
    primary: dict[int, int] = {}
    offered: set[int] = set()
    for oid, vid, sid, is_primary in session.execute(
        select(SupplierOffer.id, SupplierOffer.variant_id, SupplierOffer.supplier_id, SupplierOffer.is_primary)
        .where(SupplierOffer.variant_id.in_(vids))
    ):
        existing[(vid, sid)] = oid
        offered.add(vid)
        if is_primary:
            primary[vid] = oid
    # The row's supplier is the usual one: demote any other primary offer first.
    demote = [variant_ids[r.sku.upper()] for r in with_supplier]
    if demote:
        session.execute(update(SupplierOffer).where(SupplierOffer.variant_id.in_(demote)).values(is_primary=False))
    new, changed, costs = [], [], []
    for r in with_supplier:
        vid, sid = variant_ids[r.sku.upper()], supplier_ids[r.supplier]
        values = dict(lead_time_days=r.supplier_lead_time_days, unit_cost=r.supplier_cost, is_primary=True)
        if (vid, sid) in existing:
            changed.append(dict(values, id=existing[(vid, sid)]))
        else:
            new.append(dict(values, variant_id=vid, supplier_id=sid, currency=r.currency))
    for r in cost_only:
        vid = variant_ids[r.sku.upper()]
        if vid in primary:
            costs.append(dict(id=primary[vid], unit_cost=r.supplier_cost))
        elif vid not in offered:
            new.append(dict(variant_id=vid, supplier_id=supplier_ids[UNSPECIFIED_SUPPLIER], currency=r.currency,
                            lead_time_days=None, unit_cost=r.supplier_cost, is_primary=True))
    if new:
        session.execute(insert(SupplierOffer), new)
    for batch in (changed, costs):  # one statement per set of columns
        if batch:
            session.execute(update(SupplierOffer), batch)


def _sync_incoming(
    session: Session, rows: Sequence[CatalogRow], variant_ids: dict[str, int], supplier_ids: dict[str, int],
    now: dt.datetime,
) -> None:
    """Mirror the file's incoming_qty/incoming_eta as open lines of import-managed purchase orders.

    Purchase orders entered by hand are left alone; only lines this importer created are
    replaced when the file says something different.
    """
    vids = [variant_ids[r.sku.upper()] for r in rows]
    current: dict[int, list[tuple[int, int, int, dt.date | None, int]]] = {}
    for lid, vid, qty, received, eta, sid in session.execute(
        select(PurchaseOrderLine.id, PurchaseOrderLine.variant_id, PurchaseOrderLine.quantity,
               PurchaseOrderLine.quantity_received, PurchaseOrderLine.eta, PurchaseOrder.supplier_id)
        .join(PurchaseOrder)
        .where(PurchaseOrderLine.variant_id.in_(vids), PurchaseOrderLine.status == PurchaseOrderStatus.OPEN,
               PurchaseOrder.source == PurchaseOrderSource.IMPORT)
    ):
        current.setdefault(vid, []).append((lid, qty - received, received, eta, sid))

    cancel: list[int] = []
    wanted: list[tuple[int, int, int, dt.date | None]] = []
    for r in rows:
        vid = variant_ids[r.sku.upper()]
        lines = current.get(vid, [])
        if r.incoming_qty:
            sid = supplier_ids[r.supplier or UNSPECIFIED_SUPPLIER]
            if len(lines) == 1 and lines[0][1] == r.incoming_qty and lines[0][3] == r.incoming_eta and lines[0][4] == sid:
                continue
            wanted.append((vid, sid, r.incoming_qty, r.incoming_eta))
        cancel.extend(line[0] for line in lines)
    if cancel:
        session.execute(update(PurchaseOrderLine).where(PurchaseOrderLine.id.in_(cancel))
                        .values(status=PurchaseOrderStatus.CANCELLED))
    if not wanted:
        return
    refs = {(sid, eta): f"IMPORT-{sid}-{eta.isoformat() if eta else 'undated'}" for _, sid, _, eta in wanted}
    po_ids = dict(session.execute(
        select(PurchaseOrder.reference, PurchaseOrder.id).where(PurchaseOrder.reference.in_(refs.values()))
    ).all())
    missing = [dict(reference=ref, supplier_id=sid, status=PurchaseOrderStatus.OPEN, source=PurchaseOrderSource.IMPORT,
                    created_at=now)
               for (sid, _), ref in refs.items() if ref not in po_ids]
    if missing:
        for ref, pid in session.execute(insert(PurchaseOrder).returning(PurchaseOrder.reference, PurchaseOrder.id), missing):
            po_ids[ref] = pid
    # A purchase order that was closed earlier is reopened when the file lists it again.
    session.execute(update(PurchaseOrder).where(PurchaseOrder.id.in_(po_ids.values()))
                    .values(status=PurchaseOrderStatus.OPEN))
    session.execute(insert(PurchaseOrderLine), [
        dict(purchase_order_id=po_ids[refs[(sid, eta)]], variant_id=vid, quantity=qty, quantity_received=0,
             eta=eta, status=PurchaseOrderStatus.OPEN)
        for vid, sid, qty, eta in wanted
    ])


