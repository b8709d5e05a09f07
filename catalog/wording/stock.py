"""What shoppers read about stock: the chat's answer, the stock badge of a product card or
page, the shop's restock line, and the product card itself (a custom payload the website's
widget draws as a card and the Telegram bridge as a photo with a caption).

Every restock situation (catalog.domain.stock.Outlook) is worded here and nowhere else.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from catalog.domain.stock import Outlook, StockOutlook
from catalog.services.stock import StockReport, VariantAnswer
from catalog.wording.format import day, money, product_name, variant_label

NO_RECORDS = "Sorry, I can't find stock records for the {name}."


def product_url(sku: str) -> str:
    """The shop's page of a variant."""
    return "/products/" + quote(sku, safe="")


def label_of(answer: VariantAnswer) -> str:
    return variant_label(answer.stock.color, answer.stock.size)


def report_name(report: StockReport) -> str:
    return product_name(report.product.title, report.product.brand)


def no_records(report_or_name: StockReport | str) -> str:
    name = report_or_name if isinstance(report_or_name, str) else report_name(report_or_name)
    return NO_RECORDS.format(name=name)


def stock_badge(o: StockOutlook, today: dt.date) -> str:
    """A few words for a card or a product page: "In stock", "Only 3 left",
    "Out of stock — back around 12 Dec"."""
    if o.outlook is Outlook.IN_STOCK:
        return "In stock"
    if o.outlook is Outlook.LOW_STOCK:
        return f"Only {o.available} left"
    if o.outlook is Outlook.INCOMING:
        if o.restock_date is None:
            return "Out of stock — delivery on order"
        if o.overdue:
            return "Out of stock — delivery running late"
        return f"Out of stock — back around {day(o.restock_date, today)}"
    if o.outlook is Outlook.OTHER_SUPPLIER:
        lead = o.alternative.lead_time_days if o.alternative is not None else None
        return f"Out of stock — ships in about {lead} days" if lead is not None else "Out of stock — another supplier can ship"
    if o.outlook is Outlook.LEAD_TIME and o.lead_time_days is not None:
        return f"Out of stock — usually back within {o.lead_time_days} days"
    return "Out of stock"


def listing_badge(available: int, low: bool) -> str:
    """The badge of a product in a list (all its variants together)."""
    return "Out of stock" if available <= 0 else (f"Only {available} left" if low else "In stock")


def product_card(report: StockReport, today: dt.date) -> dict[str, Any] | None:
    """The card for the variant a stock answer is about; None without a picture (the
    answer's words say it all) or when the asked option is not made at all."""
    p, best = report.product, report.best
    if not p.image_url or not report.variant_exists:
        return None
    title = p.title + (f" ({label_of(best)})" if label_of(best) and report.has_variants else "")
    price = best.stock.price
    return {
        "type": "product", "sku": best.stock.sku, "title": title, "brand": p.brand or "",
        "price": f"{price:.2f}" if price is not None else "", "currency": best.stock.currency,
        "image_url": p.image_url, "stock": stock_badge(best.outlook, today), "url": product_url(best.stock.sku),
    }


# --------------------------------------------------------------------------- the chat's answer

def stock_reply(report: StockReport, today: dt.date, asking_date: bool = False) -> str:
    name = report_name(report)
    best = report.best
    if not report.variant_exists:
        return _no_such_variant(report, name)
    if report.has_variants and len(report.asked) > 1:
        return _several_variants(report, name, today, asking_date)
    variant = f" ({label_of(best)})" if label_of(best) and report.has_variants else ""
    return _one_variant(name + variant, best, today, asking_date, report)


def _one_variant(name: str, a: VariantAnswer, today: dt.date, asking_date: bool, report: StockReport) -> str:
    o, price = a.outlook, money(a.stock.price, a.stock.currency)
    if o.outlook is Outlook.IN_STOCK:
        lead = "Good news: no need to wait, the" if asking_date else "Yes, the"
        return f"{lead} {name} is in stock ({o.available} available) at {price}."
    if o.outlook is Outlook.LOW_STOCK:
        lead = "It's in stock now, but" if asking_date else "Yes, but"
        return f"{lead} only {o.available} left of the {name}, at {price}."
    text = f"The {name} is out of stock right now. " + restock_sentence(o, a, today)
    if report.others_in_stock:
        text += " In stock now: " + _list_labels(report.others_in_stock) + "."
    return text


def restock_sentence(o: StockOutlook, a: VariantAnswer, today: dt.date, first_back: str = "") -> str:
    """When an item out of stock comes back, as the chat says it; `first_back` names the
    option that returns first when the shopper asked about several."""
    if o.outlook is Outlook.INCOMING:
        if o.restock_date is None:
            text = f"A delivery of {o.restock_qty} is on order, with no confirmed date yet."
        elif o.overdue:
            text = (f"A delivery of {o.restock_qty} was due on {day(o.restock_date, today)} and is running late; "
                    "we expect it any day now.")
        else:
            coming = f"{o.restock_qty} more around {day(o.restock_date, today)}."
            text = f"The first to come back is {first_back}: we expect {coming}" if first_back else f"We expect {coming}"
        if o.can_preorder:
            text += " You can pre-order one from that delivery."
        return text
    if o.outlook is Outlook.OTHER_SUPPLIER and o.alternative is not None:
        alt = o.alternative
        when = f" with delivery in about {alt.lead_time_days} days" if alt.lead_time_days is not None else ""
        return (f"Our usual supplier is out too, but we can get it from {alt.supplier} "
                f"for {money(alt.price or a.stock.price, alt.currency)}{when}.")
    if o.outlook is Outlook.LEAD_TIME and o.lead_time_days is not None:
        eta = today + dt.timedelta(days=o.lead_time_days)
        return (f"No delivery is scheduled yet; our supplier usually restocks it within {o.lead_time_days} days "
                f"of an order (around {day(eta, today)} if we order today).")
    text = "There's no restock planned at the moment."
    if o.can_backorder:
        text += " You can still backorder it and we'll ship it when it comes in."
    return text


def _several_variants(report: StockReport, name: str, today: dt.date, asking_date: bool) -> str:
    in_stock = [a for a in report.asked if a.stock.available > 0]
    asked = variant_label(report.asked_color, report.asked_size)
    subject = f"the {name} in {asked}" if asked else f"the {name}"
    if in_stock:
        lead = "Good news: no need to wait," if asking_date else "Yes,"
        return f"{lead} {subject} is in stock in: {_list_labels(in_stock)}."
    best = report.best
    text = (f"Sorry, {subject} is out of stock in every option right now. "
            + restock_sentence(best.outlook, best, today, first_back=label_of(best)))
    if report.others_in_stock:
        text += " In stock now: " + _list_labels(report.others_in_stock) + "."
    return text


def _no_such_variant(report: StockReport, name: str) -> str:
    asked = variant_label(report.asked_color, report.asked_size) or "that option"
    p = report.product
    options = []
    if report.asked_color and p.colors:
        options.append("colours: " + ", ".join(p.colors))
    if report.asked_size and p.sizes:
        options.append("sizes: " + ", ".join(p.sizes))
    return f"The {name} doesn't come in {asked}." + (f" It comes in {'; '.join(options)}." if options else "")


def _list_labels(answers, limit: int = 6) -> str:
    shown = [f"{label_of(a) or 'standard'} ({a.stock.available} left)" if a.stock.available <= 5 else (label_of(a) or "standard")
             for a in answers[:limit]]
    more = len(answers) - limit
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


# --------------------------------------------------------------------------- the shop's pages

STANDARD_VARIANT = "Standard"  # a variant with neither colour nor size


def listing_price(price: Decimal | None, currency: str, varies: bool) -> str:
    """A product's price in a list: "from $19.99" when its variants differ."""
    return ("from " if varies else "") + money(price, currency)


def ask_about(sku: str) -> str:
    """What the product page's "Ask our assistant" button asks."""
    return f"Is {sku} in stock?"


def restock_line(o: StockOutlook, today: dt.date) -> str:
    """The shop's line under a variant that is out: when it comes back, in a few words."""
    if o.outlook is Outlook.INCOMING:
        if o.restock_date is None:
            return f"{o.restock_qty} on order; delivery date not confirmed yet"
        if o.overdue:
            return f"{o.restock_qty} on order; the delivery due on {day(o.restock_date, today)} is running late"
        return f"Back around {day(o.restock_date, today)} ({o.restock_qty} on order)"
    if o.outlook is Outlook.OTHER_SUPPLIER and o.alternative is not None:
        lead = o.alternative.lead_time_days
        return "Another supplier can ship it" + (f" in about {lead} days" if lead is not None else "")
    if o.outlook is Outlook.LEAD_TIME and o.lead_time_days is not None:
        return f"No delivery scheduled; usually restocked within {o.lead_time_days} days of an order"
    if o.outlook is Outlook.NO_RESTOCK:
        return "No restock planned"
    return ""


def ways_to_wait(o: StockOutlook) -> list[str]:
    """What a shopper can do about a variant that is out, for the product page."""
    options = []
    if o.available <= 0 and o.can_preorder:
        options.append("Pre-order available")
    if o.available <= 0 and o.can_backorder:
        options.append("Backorder available")
    return options
