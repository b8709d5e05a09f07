"""Which words of a question ask for a variant (a colour, a size) and which only describe
the product.

The NLU tags colour and size words by their look, so "fleece lined gloves", "the 3-shelf
cart" or "brushed steel kettle" arrive as a colour or size the product is not made in, and
the shopper would be told "it doesn't come in lined". A word the product's own text
already says (title, description, attributes) describes it, unless it names one of its
variants; such words, and words that name nothing ("the one"), are not a variant asked for.
"""
from __future__ import annotations

from catalog.domain.products import ProductInfo, category_leaf
from catalog.domain.variants import matches, norm_size, sizes_named
from catalog.search.text import words


def product_words(product: ProductInfo) -> set[str]:
    """Every comparable word the product's own text says about it (sizes spelt out also
    as their short names: "Extra Large" is "xl")."""
    text = " , ".join([product.brand or "", product.title, product.description or "", category_leaf(product.category),
                       *(str(v) for v in (product.attributes or {}).values() if v not in (None, ""))])
    return {t.text for t in words(text)} | sizes_named(text)


def asked_options(product: ProductInfo, color: str | None, size: str | None) -> tuple[str | None, str | None]:
    """The colour and size a question really asks for (None for words that describe it)."""
    said: set[str] | None = None

    def keep(value: str | None, is_color: bool) -> str | None:
        nonlocal said
        if not value:
            return None
        name = f"{product.brand or ''} {product.title}".lower().split()
        if all(w in name for w in value.lower().split()):
            return None  # part of its name ("Flow" yoga mat)
        wanted = (value, None) if is_color else (None, value)
        if any(matches(*wanted, c, s) for c in (product.colors or (None,)) for s in (product.sizes or (None,))):
            return value
        tokens = {t.text for t in words(value, frame=True) if not t.joined}
        if not tokens:
            return None  # "the one": nothing asked
        said = product_words(product) if said is None else said
        return None if tokens <= said or (not is_color and norm_size(value) in said) else value

    return keep(color, True), keep(size, False)
