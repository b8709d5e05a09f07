"""The demo shop: product pages with stock status and restock date, and the chat widget.

- `/` lists products (24 a page, by category, with a search box), `/products/{sku}` shows
  one product with each variant's price, stock and restock date (the same stock check the
  assistant answers from, in the same words), an unknown SKU gets a friendly 404 page.
- Every page carries the widget: one container and one script tag (bot/web/static/widget.js).
- `/widget/socket.io.min.js` is the socket.io client from node_modules (package-lock.json);
  `/widget/history` gives a widget the bot messages it missed (alerts sent while it was
  closed or offline) from the conversation kept by Rasa.

All catalog text goes through Jinja2 with autoescaping; the pages send a Content-Security-
Policy allowing scripts from this server only.
"""
from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from bot.rasa_api import WEB_CHANNEL, RasaApi, RasaError
from bot.web.messages import bot_events_as_messages, is_widget_session
from bot.web.settings import WebSettings
from catalog.clock import today
from catalog.domain.stock import Outlook
from catalog.services import storefront
from catalog.services.stock import VariantAnswer
from catalog.uow import UnitOfWork
from catalog.wording.format import money
from catalog.wording.stock import (
    STANDARD_VARIANT,
    ask_about,
    label_of,
    listing_badge,
    listing_price,
    product_url,
    restock_line,
    stock_badge,
    ways_to_wait,
)

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SOCKET_IO_CLIENT = ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
PER_PAGE = 24

router = APIRouter()
templates = Jinja2Templates(env=Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True, default_for_string=True)))


def _settings(request: Request) -> WebSettings:
    return request.app.state.settings


def _rasa(request: Request) -> RasaApi:
    return request.app.state.rasa


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def content_security_policy(socket_url: str) -> str:
    """Scripts, styles and connections from this server, plus Rasa's socket.io (http(s) and ws(s))."""
    connect = ["'self'"]
    origin = _origin(socket_url)
    if origin:
        connect += [origin, origin.replace("http", "ws", 1)]
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: http: data:; "
            f"connect-src {' '.join(connect)}; frame-ancestors 'self'; base-uri 'none'; form-action 'self'")


def _page(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    settings = _settings(request)
    response = templates.TemplateResponse(request, template, {"socket_url": settings.public_rasa_url, **context},
                                          status_code=status_code)
    response.headers["Content-Security-Policy"] = content_security_policy(settings.public_rasa_url)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _image(url: str | None) -> str | None:
    """Only web addresses make it into an <img src>."""
    return url if url and urlsplit(url).scheme in ("http", "https") else None


# --------------------------------------------------------------------------- pages

@router.get("/", response_class=HTMLResponse)
async def home(request: Request, q: str = Query("", max_length=200), category: str = Query("", max_length=500),
               page: int = Query(1, ge=1, le=10_000)) -> HTMLResponse:
    uow = UnitOfWork()
    cats = await run_in_threadpool(storefront.categories, uow)
    listing = await run_in_threadpool(storefront.list_products, uow, category or None, q, page, PER_PAGE)

    def link(n: int) -> str:
        params = {k: v for k, v in (("q", q), ("category", category), ("page", str(n))) if v and v != "1"}
        return "/" + (f"?{urlencode(params)}" if params else "")

    cards = [{
        "url": product_url(p.sku), "title": p.title, "brand": p.brand, "category": p.category,
        "image": _image(p.image_url),
        "price": listing_price(p.price_from, p.currency, p.price_varies),
        "badge": listing_badge(p.available, p.low),
        "state": "out" if p.available <= 0 else ("low" if p.low else "in"),
        "variants": p.variants,
    } for p in listing.products]
    return _page(request, "home.html", {
        "query": q, "category": category, "categories": cats, "products": cards, "total": listing.total,
        "page": listing.page, "pages": listing.pages,
        "prev_url": link(listing.page - 1) if listing.page > 1 else None,
        "next_url": link(listing.page + 1) if listing.page < listing.pages else None,
        "category_url": lambda c: "/?" + urlencode({"category": c}),
    })


@router.get("/products/{sku}", response_class=HTMLResponse)
async def product(request: Request, sku: str) -> HTMLResponse:
    day = today()  # the same calendar day the chat answers for
    page = await run_in_threadpool(storefront.product_page, UnitOfWork(), sku, day)
    if page is None:
        return _page(request, "not_found.html", {"sku": sku, "query": ""}, status_code=404)
    p, report = page.product, page.report
    variants = [_variant_row(a, day, a.stock.sku == page.selected_sku) for a in report.asked]
    selected = next(v for v in variants if v["selected"])
    return _page(request, "product.html", {
        "query": "", "product": p, "image": _image(p.image_url), "variants": variants, "selected": selected,
        "multi": len(variants) > 1, "category_url": "/?" + urlencode({"category": p.category}),
        "ask": ask_about(page.selected_sku),
    })


def _variant_row(a: VariantAnswer, today: dt.date, selected: bool) -> dict[str, Any]:
    o = a.outlook
    dated = o.outlook is Outlook.INCOMING and o.restock_date is not None
    return {
        "sku": a.stock.sku, "label": label_of(a) or STANDARD_VARIANT, "price": money(a.stock.price, a.stock.currency),
        "badge": stock_badge(o, today), "available": a.stock.available,
        "state": "in" if o.outlook is Outlook.IN_STOCK else ("low" if o.outlook is Outlook.LOW_STOCK else "out"),
        "restock": restock_line(o, today), "restock_date": o.restock_date.isoformat() if dated else None,
        "options": ways_to_wait(o), "selected": selected, "url": product_url(a.stock.sku),
    }


# --------------------------------------------------------------------------- the widget's server side

@router.get("/widget/socket.io.min.js", include_in_schema=False, response_model=None)
async def socket_io_client() -> Response:
    if not SOCKET_IO_CLIENT.is_file():
        log.error("socket.io client missing: run `npm ci` (make run and make test do)")
        return PlainTextResponse("// socket.io client not installed: run `npm ci`\n", status_code=503,
                                 media_type="text/javascript")
    return FileResponse(SOCKET_IO_CLIENT, media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"})


@router.get("/widget/history", include_in_schema=False, response_model=None)
async def widget_history(request: Request, session_id: str = Query(..., max_length=128),
                         since: float | None = Query(None)) -> JSONResponse:
    """The conversation's bot messages newer than `since` (Rasa's timestamps), shaped as the
    widget receives them live. The session id is the widget's own secret (its socket.io room);
    only conversations held over socket.io are answered, never a Telegram or REST one."""
    headers = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}
    if not is_widget_session(session_id):
        return JSONResponse({"messages": []}, status_code=400, headers=headers)
    try:
        tracker = await _rasa(request).tracker(session_id, include_events="AFTER_RESTART")
    except RasaError as exc:
        log.warning("history of %s unavailable: %s", session_id, exc)
        return JSONResponse({"messages": []}, status_code=502, headers=headers)
    if tracker.get("latest_input_channel") != WEB_CHANNEL:  # only a widget's own conversation
        return JSONResponse({"messages": []}, headers=headers)
    return JSONResponse({"messages": bot_events_as_messages(tracker.get("events") or [], since)}, headers=headers)
