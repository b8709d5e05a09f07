"""Read side of the catalog: the queries services need, returning domain values."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal

from sqlalchemy import String, case, cast, distinct, func, or_, select
from sqlalchemy.orm import Session

from catalog.db.orm import OrderLine, Product, SubstituteFeedback, Supplier, SupplierOffer, Variant
from catalog.clock import utcnow
from catalog.db.promises import PromiseRepository
from catalog.domain.products import VARIANT_KEYS, ProductInfo, sku_key
from catalog.domain.reservations import OpenLine, earliest_eta
from catalog.domain.statuses import OrderLineStatus
from catalog.domain.stock import IncomingLine, Offer, VariantStock
from catalog.domain.substitutes import VariantOption


class CatalogRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.promises = PromiseRepository(session)

    def product_id_for_sku(self, sku: str) -> int | None:
        return self.session.execute(
            select(Variant.product_id).where(Variant.sku_key == sku_key(sku))
        ).scalar_one_or_none()

    def variant_id_for_sku(self, sku: str) -> int | None:
        return self.session.execute(
            select(Variant.id).where(Variant.sku_key == sku_key(sku))
        ).scalar_one_or_none()

    def canonical_sku(self, sku: str) -> str | None:
        """The SKU as the catalog spells it, for one typed in any case."""
        return self.session.execute(
            select(Variant.sku).where(Variant.sku_key == sku_key(sku))
        ).scalar_one_or_none()

    def product_count(self) -> int:
        return int(self.session.execute(select(func.count(Product.id))).scalar_one())

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

    def product_for_sku(self, sku: str) -> ProductInfo | None:
        pid = self.product_id_for_sku(sku)
        found = self.products([pid]) if pid is not None else []
        return found[0] if found else None

    def variant_stock(self, product_id: int) -> list[VariantStock]:
        """Every variant of a product with stock, open incoming units and supplier offers."""
        variants = self.session.execute(
            select(Variant).where(Variant.product_id == product_id).order_by(Variant.id)
        ).scalars().all()
        vids = [v.id for v in variants]
        if not vids:
            return []
        # Holds and allocated pre-orders lower what others can buy (promises.available_query).
        available = self.promises.available(vids, utcnow())
        incoming: dict[int, list[IncomingLine]] = defaultdict(list)
        for line in self.promises.open_lines(vids):
            if line.free > 0:  # units already pre-ordered by someone are not offered again
                incoming[line.variant_id].append(IncomingLine(line.free, line.eta, line.supplier))
        offers = self.offers_by_variant(vids)
        return [
            VariantStock(
                sku=v.sku, color=v.color, size=v.size, price=v.price, currency=v.currency,
                available=available[v.id], incoming=tuple(incoming[v.id]), offers=tuple(offers[v.id]),
                preorder_allowed=v.preorder_allowed, backorder_allowed=v.backorder_allowed,
            )
            for v in variants
        ]

    def substitute_choices(self, product_id: int) -> dict[int, tuple[int, int]]:
        """What shoppers did with the substitutes offered for any variant of this product:
        {substitute's product id: (times taken, times turned down)}. One indexed query,
        nothing when no feedback was recorded."""
        wanted = select(Variant.sku).where(Variant.product_id == product_id)
        taken = func.sum(case((SubstituteFeedback.accepted.is_(True), 1), else_=0))
        rows = self.session.execute(
            select(Variant.product_id, taken, func.count())
            .join(Variant, Variant.sku == SubstituteFeedback.substitute_sku)
            .where(SubstituteFeedback.sku.in_(wanted), Variant.product_id != product_id)
            .group_by(Variant.product_id))
        return {pid: (int(yes or 0), int(total) - int(yes or 0)) for pid, yes, total in rows}

    def sellable_variants(self, product_ids: Sequence[int]) -> dict[int, list[VariantOption]]:
        """Per product, its variants with units to sell now and free pre-order units.

        A handful of queries for any number of products, so ranking a hundred substitute
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
        available = self.promises.available([v.id for v in variants], utcnow())
        free_lines: dict[int, list[OpenLine]] = defaultdict(list)
        for line in self.promises.open_lines(v.id for v in variants if v.preorder_allowed):
            if line.free > 0:
                free_lines[line.variant_id].append(line)
        for v in variants:
            lines = free_lines.get(v.id, [])
            out[v.product_id].append(VariantOption(v.sku, v.color, v.size, v.price, v.currency, available[v.id],
                                                   sum(line.free for line in lines), earliest_eta(lines)))
        return out

    def offers_by_variant(self, variant_ids: Iterable[int]) -> dict[int, list[Offer]]:
        """Supplier offers per variant (the usual supplier's first)."""
        ids = list(set(variant_ids))
        return self._offers(SupplierOffer.variant_id.in_(ids), by_sku=False) if ids else defaultdict(list)

    def offers_by_sku(self, skus: Sequence[str]) -> dict[str, list[Offer]]:
        """Supplier offers per sku (the usual supplier's first)."""
        return self._offers(Variant.sku.in_(list(skus)), by_sku=True) if skus else defaultdict(list)

    def unit_costs(self, skus: Sequence[str]) -> dict[str, tuple[Decimal, str]]:
        """{sku: (unit cost, currency)}: what the merchant pays per unit, from the usual
        supplier's offer, else the cheapest offer with a cost (skus without one are left out)."""
        if not skus:
            return {}
        out: dict[str, tuple[Decimal, str]] = {}
        rows = self.session.execute(
            select(Variant.sku, SupplierOffer.unit_cost, SupplierOffer.currency)
            .join(Variant, SupplierOffer.variant_id == Variant.id)
            .where(Variant.sku.in_(list(skus)), SupplierOffer.unit_cost.is_not(None))
            .order_by(SupplierOffer.is_primary.desc(), SupplierOffer.unit_cost, SupplierOffer.id))
        for sku, cost, currency in rows:
            out.setdefault(sku, (cost, currency))
        return out

    def product_names(self) -> list[tuple[int, str, str | None]]:
        """(id, title, brand) of every product, as plain driver rows (fast at 100,000)."""
        return [tuple(r) for r in self.session.connection().exec_driver_sql("SELECT id, title, brand FROM products")]

    def attributes_mentioning(self, fragments: Iterable[str]) -> list[tuple[int, dict]]:
        """(product id, attributes) of the variants whose attributes contain any of
        `fragments` (any case): a pre-filter, the caller reads the attributes."""
        text = func.lower(cast(Variant.attributes, String))
        rows = self.session.execute(select(Variant.product_id, Variant.attributes)
                                    .where(or_(*(text.like(f"%{f.lower()}%") for f in fragments))))
        return [(pid, attrs or {}) for pid, attrs in rows]

    def bought_together(self, product_id: int, min_orders: int, limit: int = 50) -> dict[int, int]:
        """{other product id: orders with both}: products ordered with this one (cancelled
        lines left out) in at least `min_orders` orders, most often first."""
        live = OrderLine.status != OrderLineStatus.CANCELLED
        with_it = (select(OrderLine.order_id).join(Variant, OrderLine.variant_id == Variant.id)
                   .where(Variant.product_id == product_id, live))
        orders = func.count(distinct(OrderLine.order_id))
        rows = self.session.execute(
            select(Variant.product_id, orders).join(Variant, OrderLine.variant_id == Variant.id)
            .where(OrderLine.order_id.in_(with_it), Variant.product_id != product_id, live)
            .group_by(Variant.product_id).having(orders >= min_orders).order_by(orders.desc()).limit(limit))
        return {pid: int(n) for pid, n in rows}

    def _offers(self, where, by_sku: bool) -> dict:
        # An offer without its own lead time takes the supplier's usual one.
        lead = func.coalesce(SupplierOffer.lead_time_days, Supplier.lead_time_days)
        out: dict = defaultdict(list)
        for vid, sku, name, price, currency, lead_days, qty, primary, reliability in self.session.execute(
            select(SupplierOffer.variant_id, Variant.sku, Supplier.name, SupplierOffer.price, SupplierOffer.currency,
                   lead, SupplierOffer.supplier_qty, SupplierOffer.is_primary, Supplier.reliability)
            .join(Supplier, SupplierOffer.supplier_id == Supplier.id)
            .join(Variant, SupplierOffer.variant_id == Variant.id)
            .where(where).order_by(SupplierOffer.is_primary.desc(), SupplierOffer.id)
        ):
            out[sku if by_sku else vid].append(Offer(name, price, currency, lead_days, qty, primary, reliability))
        return out


def _info(p, variants: Iterable) -> ProductInfo:
    """A product row and its variant rows (ORM objects or plain rows with those columns)."""
    variants = list(variants)
    attrs: dict = {}
    for v in variants:
        for k, val in (v.attributes or {}).items():
            if k not in VARIANT_KEYS:
                attrs.setdefault(k, val)
    return ProductInfo(
        id=p.id, title=p.title, brand=p.brand, category=p.category, description=p.description,
        image_url=p.image_url, variant_skus=tuple(v.sku for v in variants),
        colors=tuple(dict.fromkeys(v.color for v in variants if v.color)),
        sizes=tuple(dict.fromkeys(v.size for v in variants if v.size)),
        attributes=attrs,
    )
