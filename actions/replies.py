"""Stock reports turned into what the shopper reads. Plain text, short, no markup.

Also the product card that goes with a stock answer (a custom payload the website's
widget draws as a card and the Telegram bridge as a photo with a caption), and the
short stock badge the card and the shop's product pages show.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from catalog.db.repository import ProductInfo
from catalog.domain.stock import Outlook, StockOutlook
from catalog.domain.variants import label
from catalog.services.stock import StockReport, VariantAnswer

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}

TECHNICAL_PROBLEM = (
    "Sorry, I can't reach our stock system right now because of a technical problem. "
    "Please try again in a few minutes, or say \"talk to a person\" and our team will help you."
)


def money(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return "a price to be confirmed"
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{amount:,.2f}" if symbol else f"{amount:,.2f} {currency}"


def day(date: dt.date, today: dt.date) -> str:
    text = f"{date.day} {date:%b}"
    return text if date.year == today.year else f"{text} {date.year}"


def product_name(p: ProductInfo) -> str:
    return f"{p.brand} {p.title}" if p.brand and not p.title.lower().startswith(p.brand.lower()) else p.title


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


def product_card(report: StockReport, today: dt.date) -> dict[str, Any] | None:
    """The card for the variant a stock answer is about; None without a picture (the
    answer's words say it all) or when the asked option is not made at all."""
    p, best = report.product, report.best
    if not p.image_url or not report.variant_exists:
        return None
    title = p.title + (f" ({best.label})" if best.label and report.has_variants else "")
    price = best.stock.price
    return {
        "type": "product", "sku": best.stock.sku, "title": title, "brand": p.brand or "",
        "price": f"{price:.2f}" if price is not None else "", "currency": best.stock.currency,
        "image_url": p.image_url, "stock": stock_badge(best.outlook, today),
        "url": "/products/" + quote(best.stock.sku, safe=""),
    }


def stock_reply(report: StockReport, today: dt.date, asking_date: bool = False) -> str:
    name = product_name(report.product)
    best = report.best
    if not report.variant_exists:
        return _no_such_variant(report, name)
    if report.has_variants and len(report.asked) > 1:
        return _several_variants(report, name, today, asking_date)
    variant = f" ({best.label})" if best.label and report.has_variants else ""
    return _one_variant(name + variant, best, today, asking_date, report)


def _one_variant(name: str, a: VariantAnswer, today: dt.date, asking_date: bool, report: StockReport) -> str:
    o, price = a.outlook, money(a.stock.price, a.stock.currency)
    if o.outlook is Outlook.IN_STOCK:
        lead = "Good news: no need to wait, the" if asking_date else "Yes, the"
        return f"{lead} {name} is in stock ({o.available} available) at {price}."
    if o.outlook is Outlook.LOW_STOCK:
        lead = "It's in stock now, but" if asking_date else "Yes, but"
        return f"{lead} only {o.available} left of the {name}, at {price}."
    text = f"The {name} is out of stock right now. " + _restock(o, a, today)
    if report.others_in_stock:
        text += " In stock now: " + _list_labels(report.others_in_stock) + "."
    return text


def _restock(o, a: VariantAnswer, today: dt.date) -> str:
    if o.outlook is Outlook.INCOMING:
        if o.restock_date is None:
            text = f"A delivery of {o.restock_qty} is on order, with no confirmed date yet."
        elif o.overdue:
            text = (f"A delivery of {o.restock_qty} was due on {day(o.restock_date, today)} and is running late; "
                    "we expect it any day now.")
        else:
            text = f"We expect {o.restock_qty} more around {day(o.restock_date, today)}."
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
    asked = label(report.asked_color, report.asked_size)
    subject = f"the {name} in {asked}" if asked else f"the {name}"
    if in_stock:
        lead = "Good news: no need to wait," if asking_date else "Yes,"
        return f"{lead} {subject} is in stock in: {_list_labels(in_stock)}."
    text = f"Sorry, {subject} is out of stock in every option right now. " + _restock(report.best.outlook, report.best, today)
    if report.best.label and report.best.outlook.outlook is Outlook.INCOMING:
        text = text.replace("We expect", f"The first to come back is {report.best.label}: we expect", 1)
    if report.others_in_stock:
        text += " In stock now: " + _list_labels(report.others_in_stock) + "."
    return text


def _no_such_variant(report: StockReport, name: str) -> str:
    asked = label(report.asked_color, report.asked_size) or "that option"
    p = report.product
    options = []
    if report.asked_color and p.colors:
        options.append("colours: " + ", ".join(p.colors))
    if report.asked_size and p.sizes:
        options.append("sizes: " + ", ".join(p.sizes))
    return f"The {name} doesn't come in {asked}." + (f" It comes in {'; '.join(options)}." if options else "")


def _list_labels(answers, limit: int = 6) -> str:
    shown = [f"{a.label or 'standard'} ({a.stock.available} left)" if a.stock.available <= 5 else (a.label or "standard")
             for a in answers[:limit]]
    more = len(answers) - limit
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")
