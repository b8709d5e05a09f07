"""What the demo shop's pages show: a page of products, and one product with each variant's stock.

A listing page costs a handful of queries whatever its size (one page of products, their
variants' sellable units in bulk); a product page is the same stock check the chat does
(`check_stock`), so the page and the assistant never disagree.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from catalog.config import low_stock_threshold
from catalog.db.orm import Product, Variant
from catalog.domain.products import ProductInfo
from catalog.services.stock import StockReport, check_stock
from catalog.uow import UnitOfWork

MAX_QUERY_WORDS = 8


@dataclass(frozen=True)
class ListedProduct:
    id: int
    sku: str  # the first variant's: the product page's address
    title: str
    brand: str | None
    category: str
    image_url: str | None
    price_from: Decimal | None
    price_varies: bool
    currency: str
    available: int  # units to sell now, all variants together
    low: bool  # at or below the low-stock threshold (but not zero)
    variants: int


@dataclass(frozen=True)
class ProductList:
    products: tuple[ListedProduct, ...]
    total: int
    page: int
    pages: int
    per_page: int


@dataclass(frozen=True)
class ProductPage:
    product: ProductInfo
    report: StockReport  # about every variant: report.asked in catalog order
    selected_sku: str  # the variant the address named


def categories(uow: UnitOfWork) -> list[tuple[str, int]]:
    with uow:
        rows = uow.session.execute(
            select(Product.category, func.count(Product.id)).group_by(Product.category).order_by(Product.category))
        return [(category, count) for category, count in rows]


def list_products(uow: UnitOfWork, category: str | None = None, query: str = "", page: int = 1,
                  per_page: int = 24) -> ProductList:
    """One page of products (in catalog order), filtered by category and by words that must
    all appear in the title, brand or category."""
    conditions = []
    if category:
        conditions.append(Product.category == category)
    haystack = func.lower(Product.title + " " + func.coalesce(Product.brand, "") + " " + Product.category)
    for word in query.lower().split()[:MAX_QUERY_WORDS]:
        conditions.append(haystack.contains(word, autoescape=True))
    low = low_stock_threshold()
    with uow:
        total = uow.session.execute(select(func.count(Product.id)).where(*conditions)).scalar_one()
        pages = max(1, math.ceil(total / per_page))
        page = min(max(1, page), pages)
        rows = uow.session.execute(
            select(Product).where(*conditions).order_by(Product.id).offset((page - 1) * per_page).limit(per_page)
        ).scalars().all()
        ids = [p.id for p in rows]
        options = uow.catalog.sellable_variants(ids)
        first_sku = dict(uow.session.execute(
            select(Variant.product_id, func.min(Variant.sku)).where(Variant.product_id.in_(ids))
            .group_by(Variant.product_id)).all()) if ids else {}
        listed = []
        for p in rows:
            variants = options.get(p.id, [])
            prices = [v.price for v in variants if v.price is not None]
            available = sum(max(0, v.available) for v in variants)
            listed.append(ListedProduct(
                p.id, variants[0].sku if variants else first_sku.get(p.id, ""), p.title, p.brand, p.category,
                p.image_url, min(prices) if prices else None, len(set(prices)) > 1,
                variants[0].currency if variants else "USD", available, 0 < available <= low, len(variants)))
    return ProductList(tuple(listed), total, page, pages, per_page)


def product_page(uow: UnitOfWork, sku: str, today: dt.date) -> ProductPage | None:
    """The product a SKU belongs to, with every variant's stock and restock outlook; None
    for an unknown SKU."""
    sku = (sku or "").strip()
    if not sku or len(sku) > 64:
        return None
    with uow:
        product = uow.catalog.product_for_sku(sku)
    if product is None:
        return None
    report = check_stock(uow, product, today)
    if report is None:
        return None
    selected = next((s for s in product.variant_skus if s.upper() == sku.upper()), product.variant_skus[0])
    return ProductPage(product, report, selected)
