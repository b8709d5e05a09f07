"""The staff console's routes (/console): pages for people, /console/api/* JSON for the pages'
live updates.

Access: every route but the sign-in form and the static files needs a staff session
(pages redirect to the sign-in form, JSON answers 401); every POST needs the session's
CSRF token. Responses carry a strict Content-Security-Policy (scripts only from
/console/static, no inline script), are never cached, and may not be framed.
"""
from __future__ import annotations

import datetime as dt
import hmac
import logging
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from bot.rasa_api import RasaApi, RasaError
from bot.web.console.replies import DeliveryError, send_reply
from bot.web.console.transcript import mentioned_skus, transcript
from bot.web.settings import WebSettings
from catalog.clock import today, utcnow
from catalog.config import low_stock_threshold
from catalog.domain.products import sku_key
from catalog.domain.staff import MAX_PASSWORD
from catalog.domain.statuses import MessageKind, TicketStatus
from catalog.services import handoff, staff as accounts
from catalog.services.refunds import NotARefundTicket, decide_refund as decide
from catalog.services.staff import SignIn, StaffContext
from catalog.uow import UnitOfWork
from catalog.views import customer_panel, stock_panel, tickets
from catalog.wording import console as says
from catalog.wording.format import variant_label
from catalog.wording.refunds import decision_text

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                                "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
NEXT = re.compile(r"^/console(/[A-Za-z0-9_\-/.]*)?$")
SESSION_COOKIE, SECURE_SESSION_COOKIE = "console_session", "__Host-console_session"
LOGIN_COOKIE, SECURE_LOGIN_COOKIE = "console_login", "__Host-console_login"


class ConsoleRoute(APIRoute):
    """Adds the security headers to every console response."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def with_headers(request: Request) -> Response:
            response = await handler(request)
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return with_headers


router = APIRouter(prefix="/console", route_class=ConsoleRoute)
templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                        trim_blocks=True, lstrip_blocks=True)


# ----------------------------------------------------------------------------- plumbing

def _settings(request: Request) -> WebSettings:
    return request.app.state.settings


def _rasa(request: Request) -> RasaApi:
    return request.app.state.rasa


def _uow() -> UnitOfWork:
    return UnitOfWork()


def _cookie_names(request: Request) -> tuple[str, str]:
    """(session cookie, sign-in form cookie): with the `__Host-` prefix behind HTTPS."""
    if _settings(request).secure_cookies:
        return SECURE_SESSION_COOKIE, SECURE_LOGIN_COOKIE
    return SESSION_COOKIE, LOGIN_COOKIE


def same_token(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; an empty token never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(templates.get_template(name).render(**context), status_code=status)


def _safe_next(target: str | None) -> str:
    return target if target and NEXT.match(target) and "//" not in target and ".." not in target else "/console"


async def _current(request: Request) -> StaffContext | None:
    token = request.cookies.get(_cookie_names(request)[0])
    if not token:
        return None
    return await run_in_threadpool(accounts.lookup_session, _uow(), token)


async def page_staff(request: Request) -> StaffContext:
    """Pages (and their form posts): anonymous visitors go to the sign-in form."""
    staff = await _current(request)
    if staff is None:
        target = request.url.path if request.method == "GET" else "/console"
        raise HTTPException(303, says.SIGN_IN_FIRST,
                            headers={"Location": f"/console/login?next={quote(_safe_next(target))}"})
    return staff


async def api_staff(request: Request) -> StaffContext:
    staff = await _current(request)
    if staff is None:
        raise HTTPException(401, says.SIGN_IN_FIRST)
    return staff


async def form_staff(request: Request, staff: StaffContext = Depends(page_staff)) -> StaffContext:
    """A signed-in staff member whose POST carries this session's CSRF token."""
    given = request.headers.get("x-csrf-token")
    if not given and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        given = (await request.form()).get("csrf_token")
    if not same_token(staff.csrf_token, given if isinstance(given, str) else None):
        raise HTTPException(403, says.CSRF_REFUSED)
    return staff


def _back(url: str, **query: str) -> RedirectResponse:
    suffix = "&".join(f"{k}={quote(v)}" for k, v in query.items() if v)
    return RedirectResponse(f"{url}?{suffix}" if suffix else url, status_code=303)


def _base(staff: StaffContext, page: str, request: Request) -> dict[str, Any]:
    return {"staff": staff, "csrf_token": staff.csrf_token, "page": page,
            "done": says.DONE.get(request.query_params.get("done", "")),
            "error": says.ERRORS.get(request.query_params.get("error", ""))}


def _iso(value: dt.datetime | None) -> str | None:
    return value.replace(microsecond=0).isoformat() + "Z" if value else None


def ticket_json(t: tickets.TicketView, now: dt.datetime) -> dict[str, Any]:
    """A ticket as the queue and the pages show it."""
    return {
        "id": t.id, "conversation_id": t.conversation_id, "channel": t.channel or says.UNKNOWN_CHANNEL,
        "sender_id": t.sender_id,
        "customer_id": t.customer_id,
        "customer": says.customer_label(t.customer_name, t.customer_email, t.customer_id, t.sender_id),
        "reason": t.reason, "reason_label": says.REASON_LABELS.get(t.reason, str(t.reason)), "status": t.status,
        "summary": says.ticket_summary(t.reason, t.payload), "created_at": _iso(t.created_at),
        "waiting": says.waited(t.created_at, now), "assigned_to": t.assigned_to, "assigned_at": _iso(t.assigned_at),
        "url": f"/console/tickets/{t.id}",
    }


def refund_json(r: tickets.PendingRefund, now: dt.datetime) -> dict[str, Any]:
    return {**ticket_json(r.ticket, now), "order_number": r.order_number or "?",
            "amount": str(r.amount) if r.amount is not None else "?", "currency": r.currency,
            "lines": [{"sku": line["sku"] or "-", "quantity": line["quantity"], "amount": str(line["amount"]),
                       "currency": line["currency"]} for line in r.lines]}


def panel_json(panel: stock_panel.StockPanel) -> dict[str, Any]:
    return {"threshold": panel.threshold, "total": panel.total, "shown": len(panel.items), "items": [
        {"sku": i.sku, "product": i.product, "color": i.color, "size": i.size, "available": i.available,
         "state": says.stock_state(i.available), "on_hand": i.on_hand, "waiting_customers": i.waiting_customers, "reservations": i.reservations,
         "reserved_units": i.reserved_units, "alerts": i.alerts,
         "purchase_orders": [{"reference": o.reference, "supplier": o.supplier,
                              "eta": o.eta.isoformat() if o.eta else None, "quantity": o.still_to_arrive}
                             for o in i.purchase_orders]}
        for i in panel.items]}


def customer_json(p: customer_panel.CustomerPanel, mentioned: list[str]) -> dict[str, Any]:
    """The customer's side of the conversation page; `mentioned`: the SKUs the chat was about."""
    return {
        "customer_id": p.customer_id, "name": p.name, "email": p.email,
        "identities": [says.identity(c, e, u) for c, e, u in p.identities],
        "orders": [{"number": o.number, "status": o.status, "currency": o.currency,
                    "placed_at": o.placed_at.strftime("%Y-%m-%d"), "total": str(o.total),
                    "mentioned_only": o.mentioned_only,
                    "lines": [{"sku": line.sku, "quantity": line.quantity, "status": line.status,
                               "unit_price": str(line.unit_price)} for line in o.lines]} for o in p.orders],
        "reservations": [{"id": r.id, "sku": r.sku, "kind": r.kind, "quantity": r.quantity,
                          "allocated": r.quantity_allocated, "status": r.status,
                          "eta": r.expected.isoformat() if r.expected else None} for r in p.reservations],
        "alerts": [{"id": a.id, "product": a.product_title, "sku": a.sku or says.ANY_VARIANT, "channel": a.channel,
                    "since": a.created_at.strftime("%Y-%m-%d")} for a in p.alerts],
        "products": [{"id": prod.id, "title": prod.title, "variants": [
            {"sku": v.sku, "label": variant_label(v.color, v.size) or says.NO_VARIANT, "available": v.available,
             "outlook": says.outlook_label(o.outlook.value), "mentioned": sku_key(v.sku) in mentioned,
             "incoming": [{"quantity": line.quantity, "eta": line.eta.isoformat() if line.eta else None,
                           "supplier": line.supplier} for line in sorted(v.incoming, key=lambda x: x.eta or dt.date.max)]}
            for v, o in prod.variants]} for prod in p.products],
    }


# ----------------------------------------------------------------------------- static files

@router.get("/static/{name}", include_in_schema=False)
async def static(name: str) -> Response:
    if not re.fullmatch(r"[a-z0-9_-]+\.(css|js|svg)", name) or not (STATIC / name).is_file():
        raise HTTPException(404, says.NOT_FOUND)
    return FileResponse(STATIC / name, headers={"Cache-Control": "no-cache"})


# ----------------------------------------------------------------------------- sign-in

def _login_form(request: Request, target: str, message: str | None = None, status: int = 200) -> HTMLResponse:
    settings = _settings(request)
    token = secrets.token_urlsafe(32)
    response = _render("login.html", status, csrf_token=token, next=_safe_next(target), message=message)
    response.set_cookie(_cookie_names(request)[1], token, max_age=3600, httponly=True, samesite="strict",
                        secure=settings.secure_cookies, path="/")
    return response


@router.get("/login")
async def login_page(request: Request, next: str = "/console") -> Response:
    if await _current(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_form(request, next)


@router.post("/login")
async def login(request: Request, username: str = Form(""), password: str = Form(""), csrf_token: str = Form(""),
                next: str = Form("/console")) -> Response:
    settings = _settings(request)
    session_cookie, login_cookie = _cookie_names(request)
    if not same_token(request.cookies.get(login_cookie), csrf_token):
        return _login_form(request, next, says.SIGN_IN_FORM_EXPIRED, 403)
    outcome, staff = await run_in_threadpool(accounts.authenticate, _uow(), username[:200],
                                             password[:MAX_PASSWORD + 1], _client_ip(request))
    if outcome is SignIn.RATE_LIMITED:
        return _login_form(request, next, says.TOO_MANY_SIGN_INS, 429)
    if outcome is not SignIn.OK or staff is None:
        return _login_form(request, next, says.WRONG_SIGN_IN, 401)
    token = await run_in_threadpool(accounts.create_session, _uow(), staff.id)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(session_cookie, token, max_age=int(accounts.LIFETIME.total_seconds()), httponly=True,
                        samesite="strict", secure=settings.secure_cookies, path="/")
    response.delete_cookie(login_cookie, path="/")
    return response


@router.post("/logout")
async def logout(request: Request, staff: StaffContext = Depends(form_staff)) -> Response:
    session_cookie, _ = _cookie_names(request)
    await run_in_threadpool(accounts.end_session, _uow(), request.cookies.get(session_cookie))
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(session_cookie, path="/")
    return response


# ----------------------------------------------------------------------------- the queue

async def _queue() -> list[dict[str, Any]]:
    now = utcnow()
    return [ticket_json(t, now) for t in await run_in_threadpool(tickets.open_tickets, _uow())]


@router.get("")
async def queue_page(request: Request, staff: StaffContext = Depends(page_staff)) -> Response:
    return _render("queue.html", tickets=await _queue(), **_base(staff, "queue", request))


@router.get("/api/queue")
async def queue_api(staff: StaffContext = Depends(api_staff)) -> JSONResponse:
    return JSONResponse({"tickets": await _queue()})


# ----------------------------------------------------------------------------- one conversation

async def _ticket(ticket_id: int) -> tickets.TicketView:
    ticket = await run_in_threadpool(tickets.get_ticket, _uow(), ticket_id)
    if ticket is None:
        raise HTTPException(404, says.no_ticket(ticket_id))
    return ticket


@router.get("/tickets/{ticket_id}")
async def conversation_page(request: Request, ticket_id: int, staff: StaffContext = Depends(page_staff)) -> Response:
    ticket = await _ticket(ticket_id)
    rasa_error = None
    tracker: dict[str, Any] = {}
    try:
        tracker = await _rasa(request).tracker(ticket.sender_id)
    except RasaError as exc:
        rasa_error = says.TRANSCRIPT_UNAVAILABLE.format(reason=exc)
    slots = tracker.get("slots") or {}
    order_number = slots.get("order_id") if isinstance(slots.get("order_id"), str) else None
    skus = mentioned_skus(tracker)
    panel = await run_in_threadpool(customer_panel.customer_panel, _uow(), ticket.customer_id, ticket.channel,
                                    ticket.sender_id, skus, order_number, today(), low_stock_threshold())
    related = await run_in_threadpool(tickets.conversation_tickets, _uow(), ticket.conversation_id)
    holder = next((t.assigned_to for t in related if t.status == TicketStatus.OPEN and t.assigned_to), None)
    now = utcnow()
    return _render(
        "conversation.html", ticket=ticket_json(ticket, now), ticket_payload=ticket.payload,
        messages=transcript(tracker), paused=bool(tracker.get("paused")),
        channel=tracker.get("latest_input_channel") or ticket.channel or says.UNKNOWN_CHANNEL, rasa_error=rasa_error,
        panel=customer_json(panel, skus), related=[ticket_json(t, now) for t in related], holder=holder,
        reply_key=secrets.token_urlsafe(16), **_base(staff, "queue", request))


@router.get("/api/tickets/{ticket_id}/transcript")
async def transcript_api(request: Request, ticket_id: int, staff: StaffContext = Depends(api_staff)) -> JSONResponse:
    ticket = await _ticket(ticket_id)
    try:
        tracker = await _rasa(request).tracker(ticket.sender_id)
    except RasaError as exc:
        return JSONResponse({"error": str(exc)}, status_code=502)
    return JSONResponse({"paused": bool(tracker.get("paused")), "messages": transcript(tracker),
                         "channel": tracker.get("latest_input_channel") or ticket.channel})


@router.post("/tickets/{ticket_id}/take-over")
async def take_over(request: Request, ticket_id: int, staff: StaffContext = Depends(form_staff)) -> Response:
    ticket = await _ticket(ticket_id)
    url = f"/console/tickets/{ticket_id}"
    holder = await run_in_threadpool(handoff.take_over, _uow(), ticket.conversation_id, staff.staff_id,
                                     ticket.customer_id)
    if holder is not None:
        return _back(url, error="taken_by_other")
    try:
        await _rasa(request).pause(ticket.sender_id, staff.username)
    except RasaError:
        log.exception("could not pause conversation %s", ticket.sender_id)
        await run_in_threadpool(handoff.release, _uow(), ticket.conversation_id, staff.staff_id)
        return _back(url, error="rasa")
    return _back(url, done="taken")


@router.post("/tickets/{ticket_id}/reply")
async def reply(request: Request, ticket_id: int, text: str = Form(""), reply_key: str = Form(""),
                staff: StaffContext = Depends(form_staff)) -> Response:
    ticket = await _ticket(ticket_id)
    url = f"/console/tickets/{ticket_id}"
    rasa = _rasa(request)
    try:
        tracker = await rasa.tracker(ticket.sender_id)
        if not tracker.get("paused"):
            return _back(url, error="not_paused")
        await send_reply(rasa, _uow(), ticket.sender_id, text, staff.username, reply_key, ticket.channel)
    except RasaError:
        log.exception("staff reply to %s failed", ticket.sender_id)
        return _back(url, error="rasa")
    except DeliveryError as exc:
        log.warning("staff reply to %s not delivered: %s", ticket.sender_id, exc)
        return _back(url, error="delivery")
    return _back(url, done="replied")


@router.post("/tickets/{ticket_id}/hand-back")
async def hand_back(request: Request, ticket_id: int, staff: StaffContext = Depends(form_staff)) -> Response:
    ticket = await _ticket(ticket_id)
    try:
        await _rasa(request).resume(ticket.sender_id, staff.username)
    except RasaError:
        log.exception("could not resume conversation %s", ticket.sender_id)
        return _back(f"/console/tickets/{ticket_id}", error="rasa")
    await run_in_threadpool(handoff.hand_back, _uow(), ticket.conversation_id)
    return _back(f"/console/tickets/{ticket_id}", done="handed_back")


# ----------------------------------------------------------------------------- refunds

async def _refunds() -> list[dict[str, Any]]:
    now = utcnow()
    return [refund_json(r, now) for r in await run_in_threadpool(tickets.pending_refunds, _uow())]


@router.get("/refunds")
async def refunds_page(request: Request, staff: StaffContext = Depends(page_staff)) -> Response:
    return _render("refunds.html", refunds=await _refunds(), **_base(staff, "refunds", request))


@router.get("/api/refunds")
async def refunds_api(staff: StaffContext = Depends(api_staff)) -> JSONResponse:
    return JSONResponse({"refunds": await _refunds()})


@router.post("/refunds/{ticket_id}/decide")
async def decide_refund(request: Request, ticket_id: int, decision: str = Form(""), back: str = Form(""),
                        staff: StaffContext = Depends(form_staff)) -> Response:
    if decision not in ("approve", "reject"):
        raise HTTPException(400, says.BAD_DECISION)
    url = f"/console/tickets/{ticket_id}" if back == "ticket" else "/console/refunds"
    try:
        outcome = await run_in_threadpool(decide, _uow(), ticket_id, decision == "approve", staff.username)
    except NotARefundTicket:
        raise HTTPException(404, says.no_refund_ticket(ticket_id)) from None
    if not outcome.decided_now:
        return _back(url, done="already_decided")
    done = "approved" if outcome.approve else "rejected"
    channel, sender_id = handoff.split_conversation(outcome.conversation_id)
    try:  # tell the customer where they talk to us; once, whatever the clicks
        await send_reply(_rasa(request), _uow(), sender_id, decision_text(outcome), staff.username,
                         f"refund-decision-{ticket_id}", channel, kind=MessageKind.REFUND_DECISION)
    except (RasaError, DeliveryError):
        log.exception("could not tell the customer of ticket %s about the decision", ticket_id)
        return _back(url, done=done, error="not_told")
    return _back(url, done=done)


# ----------------------------------------------------------------------------- stock

async def _stock() -> dict[str, Any]:
    return panel_json(await run_in_threadpool(stock_panel.stock_panel, _uow(), low_stock_threshold()))


@router.get("/stock")
async def stock_page(request: Request, staff: StaffContext = Depends(page_staff)) -> Response:
    return _render("stock.html", panel=await _stock(), **_base(staff, "stock", request))


@router.get("/api/stock")
async def stock_api(staff: StaffContext = Depends(api_staff)) -> JSONResponse:
    return JSONResponse(await _stock())
