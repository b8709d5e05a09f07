"""A product as the rest of the system sees it, and what its catalog fields say it is.

`category_leaf` and `product_type` are the one reading of "what kind of thing is this"
from a merchant's fields: the resolver's search text, the substitutes' embedding text and
their same-kind rule all start from them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# Where catalogs keep the kind of product: our `type` attribute, or an extra column the
# importer kept as an attribute (Shopify's "Type", Google's "product_type").
TYPE_KEYS = frozenset({"type", "product_type", "product type", "producttype", "item_type", "item type"})
# Attributes that belong to one variant, not to the product.
VARIANT_KEYS = frozenset({"color", "colour", "size"})
_PATH = re.compile(r"\s*[>/|]\s*")


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
    attributes: dict  # the product's own attributes (not a variant's colour or size)


def sku_key(sku: str | None) -> str:
    """How SKUs are compared: "rtr-42 " and "RTR-42" are one SKU (the variants' `sku_key`)."""
    return (sku or "").strip().upper()[:64]


def category_leaf(category: str) -> str:
    """"Kitchen > Coffee Machines" -> "Coffee Machines" (also '/' and '|' paths)."""
    return _PATH.split(category.strip())[-1] if category else ""


def product_type(attributes: dict | None) -> str | None:
    """The merchant's own word for the kind of product, if the catalog has one."""
    value = next((v for k, v in (attributes or {}).items() if str(k).strip().lower() in TYPE_KEYS), None)
    return str(value).strip() or None if value is not None else None


def descriptive_attributes(attributes: dict) -> dict:
    """Attributes that describe the model (material, capacity...), without its type, colour or size."""
    return {k: v for k, v in attributes.items()
            if str(k).strip().lower() not in TYPE_KEYS | VARIANT_KEYS and v not in (None, "")}
