"""Read side of the catalog: the queries services need, returning domain values."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.db.orm import (
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    Supplier,
    SupplierOffer,
    Variant,
    utcnow,
)
from catalog.db.promises import PromiseRepository
from catalog.domain.stock import IncomingLine, Offer, VariantStock
from catalog.domain.substitutes import VariantOption


@dataclass(frozen=True)
class ProductInfo:
    id: int
    title: str
    brand: str | None
    category: str
    description: str
    image_url: str | None
    variant_skus: tuple[str, ...]
    colors: tuple[str, ...]
    sizes: tuple[str, ...]
    attributes: dict


class CatalogRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def product_id_for_sku(self, sku: str) -> int | None:
        return self.session.execute(
            select(Variant.product_id).where(Variant.sku_key == sku.strip().upper())
        ).scalar_one_or_none()

    def version(self) -> tuple:
        """Changes whenever products are added or edited: lets caches refresh cheaply."""
        return tuple(self.session.execute(select(func.count(Product.id), func.max(Product.updated_at))).one())

    def product_ids(self) -> set[int]:
        # Plain driver rows: at 100,000 products this is 30 ms instead of 300 ms through the ORM.
        return {row[0] for row in self.session.connection().exec_driver_sql("SELECT id FROM products")}

    def changed_product_ids(self, since: dt.datetime) -> set[int]:
        """Products edited, or with a variant edited, after `since` (import bumps both)."""
        products = select(Product.id).where(Product.updated_at > since)
        variants = select(Variant.product_id).where(Variant.updated_at > since)
        return set(self.session.execute(products.union(variants)).scalars())

    def product_labels(self, ids: Sequence[int]) -> dict[int, tuple[str, str | None]]:
        """{id: (title, brand)}: what ranking and replies need, without loading variants."""
        if not ids:
            return {}
        rows = self.session.execute(select(Product.id, Product.title, Product.brand).where(Product.id.in_(list(ids))))
        return {pid: (title, brand) for pid, title, brand in rows}

    def products(self, ids: Sequence[int] | None = None) -> list[ProductInfo]:
        # Plain rows, not ORM objects: a 100,000-product snapshot would otherwise hold
        # 400,000 tracked instances at once (hundreds of MB at the peak, for nothing).
        query = select(Product.id, Product.title, Product.brand, Product.category, Product.description,
                       Product.image_url).order_by(Product.id)
        vquery = select(Variant.product_id, Variant.sku, Variant.color, Variant.size, Variant.attributes) \
            .order_by(Variant.id)
        if ids is not None:
            query = query.where(Product.id.in_(ids))
            vquery = vquery.where(Variant.product_id.in_(ids))
        variants: dict[int, list] = defaultdict(list)
        for v in self.session.execute(vquery):
            variants[v.product_id].append(v)
        return [_info(p, variants.pop(p.id, ())) for p in self.session.execute(query)]

    def variant_stock(self, product_id: int) -> list[VariantStock]:
        """Every variant of a product with stock, open incoming units and supplier offers."""
        variants = self.session.execute(
            select(Variant).where(Variant.product_id == product_id).order_by(Variant.id)
        ).scalars().all()
        vids = [v.id for v in variants]
        if not vids:
            return []
        # Holds and allocated pre-orders lower what others can buy (PromiseRepository.available).
        available = PromiseRepository(self.session).available(vids, utcnow())
        incoming: dict[int, list[IncomingLine]] = defaultdict(list)
        rows = self.session.execute(
            select(PurchaseOrderLine.variant_id, PurchaseOrderLine.quantity, PurchaseOrderLine.quantity_received,
                   PurchaseOrderLine.eta, Supplier.name, PurchaseOrderLine.id)
            .join(PurchaseOrder, PurchaseOrderLine.purchase_order_id == PurchaseOrder.id)
            .join(Supplier, PurchaseOrder.supplier_id == Supplier.id)
            .where(PurchaseOrderLine.variant_id.in_(vids), PurchaseOrderLine.status == "open",
                   PurchaseOrder.status == "open")
        ).all()
        promised = PromiseRepository(self.session).waiting_by_line([row[5] for row in rows])
        for vid, qty, received, eta, supplier, line_id in rows:
            # Units already pre-ordered by someone are not offered again ("never promised twice").
            free = qty - received - promised.get(line_id, 0)
            if free > 0:
                incoming[vid].append(IncomingLine(free, eta, supplier))
        offers: dict[int, list[Offer]] = defaultdict(list)
        for o, s in self.session.execute(
            select(SupplierOffer, Supplier).join(Supplier, SupplierOffer.supplier_id == Supplier.id)
            .where(SupplierOffer.variant_id.in_(vids))
        ):
            lead = o.lead_time_days if o.lead_time_days is not None else s.lead_time_days
            offers[o.variant_id].append(Offer(s.name, o.price, o.currency, lead, o.supplier_qty, o.is_primary, s.reliability))
        return [
            VariantStock(
                sku=v.sku, color=v.color, size=v.size, price=v.price, currency=v.currency,
                available=available[v.id], incoming=tuple(incoming[v.id]), offers=tuple(offers[v.id]),
                preorder_allowed=v.preorder_allowed, backorder_allowed=v.backorder_allowed,
            )
            for v in variants
        ]

    def sellable_variants(self, product_ids: Sequence[int]) -> dict[int, list[VariantOption]]:
        """Per product, its variants with units to sell now and free pre-order units.

        Four queries for any number of products, so ranking a hundred substitute
        candidates costs about as much as one stock check.
        """
        ids = list(dict.fromkeys(product_ids))
        out: dict[int, list[VariantOption]] = defaultdict(list)
        if not ids:
            return out
        variants = self.session.execute(
            select(Variant.id, Variant.product_id, Variant.sku, Variant.color, Variant.size, Variant.price,
                   Variant.currency, Variant.preorder_allowed)
            .where(Variant.product_id.in_(ids)).order_by(Variant.id)
        ).all()
        vids = [v.id for v in variants]
        promises = PromiseRepository(self.session)
        available = promises.available(vids, utcnow())
        preorderable = [v.id for v in variants if v.preorder_allowed]
        incoming: dict[int, tuple[int, dt.date | None]] = {}
        if preorderable:
            rows = self.session.execute(
                select(PurchaseOrderLine.id, PurchaseOrderLine.variant_id, PurchaseOrderLine.quantity,
                       PurchaseOrderLine.quantity_received, PurchaseOrderLine.eta)
                .join(PurchaseOrder, PurchaseOrderLine.purchase_order_id == PurchaseOrder.id)
                .where(PurchaseOrderLine.variant_id.in_(preorderable), PurchaseOrderLine.status == "open",
                       PurchaseOrder.status == "open")
            ).all()
            waiting = promises.waiting_by_line([r[0] for r in rows])
            for line_id, vid, qty, received, eta in rows:
                free = qty - received - waiting.get(line_id, 0)
                if free > 0:
                    units, first = incoming.get(vid, (0, None))
                    earliest = eta if first is None or (eta is not None and eta < first) else first
                    incoming[vid] = (units + free, earliest)
        for v in variants:
            units, eta = incoming.get(v.id, (0, None))
            out[v.product_id].append(VariantOption(v.sku, v.color, v.size, v.price, v.currency,
                                                   available[v.id], units, eta))
        return out

    def supplier_offers(self, skus: Sequence[str]) -> dict[str, list[Offer]]:
        """Supplier offers per sku (the usual supplier's and the others')."""
        out: dict[str, list[Offer]] = defaultdict(list)
        if not skus:
            return out
        for o, s, sku in self.session.execute(
            select(SupplierOffer, Supplier, Variant.sku)
            .join(Supplier, SupplierOffer.supplier_id == Supplier.id)
            .join(Variant, SupplierOffer.variant_id == Variant.id)
            .where(Variant.sku.in_(list(skus)))
        ):
            lead = o.lead_time_days if o.lead_time_days is not None else s.lead_time_days
            out[sku].append(Offer(s.name, o.price, o.currency, lead, o.supplier_qty, o.is_primary, s.reliability))
        return out


def _info(p, variants: Iterable) -> ProductInfo:
    """A product row and its variant rows (ORM objects or plain rows with those columns)."""
    variants = list(variants)
    attrs: dict = {}
    for v in variants:
        for k, val in (v.attributes or {}).items():
            if k not in ("color", "colour", "size"):
                attrs.setdefault(k, val)
    return ProductInfo(
        id=p.id, title=p.title, brand=p.brand, category=p.category, description=p.description,
        image_url=p.image_url, variant_skus=tuple(v.sku for v in variants),
        colors=tuple(dict.fromkeys(v.color for v in variants if v.color)),
        sizes=tuple(dict.fromkeys(v.size for v in variants if v.size)),
        attributes=attrs,
    )


