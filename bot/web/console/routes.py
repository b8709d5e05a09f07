"""The staff console's routes (/console): pages for people, /console/api/* JSON for the pages'
live updates.

Access: every route but the sign-in form and the static files needs a staff session
(pages redirect to the sign-in form, JSON answers 401); every POST needs the session's
CSRF token. Responses carry a strict Content-Security-Policy (scripts only from
/console/static, no inline script), are never cached, and may not be framed.
"""
from __future__ import annotations

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

from bot.web.console import accounts, queue, refunds, sessions
from bot.web.console.conversation import customer_panel, mentioned_skus, transcript
from bot.web.console.rasa import RasaClient, RasaError
from bot.web.console.replies import DeliveryError, send_reply
from bot.web.console.stock import stock_panel
from bot.web.settings import WebSettings
from catalog.uow import UnitOfWork

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
DONE = {
    "taken": "You have the conversation: the assistant stays quiet until you hand it back.",
    "replied": "Message sent.",
    "handed_back": "Handed back: the assistant answers the customer's next message.",
    "approved": "Refund approved and paid.",
    "rejected": "Refund rejected.",
    "already_decided": "Someone decided this refund already; nothing more was paid.",
    "told": "The customer has been told.",
}
ERRORS = {
    "taken_by_other": "Another staff member has this conversation.",
    "rasa": "The assistant could not be reached, so nothing changed. Try again in a moment.",
    "not_paused": "Take the conversation over before replying, so the assistant does not answer too.",
    "delivery": "The message could not be delivered.",
    "not_told": "Decided, but the customer could not be told automatically; please message them.",
}


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
    return getattr(request.app.state, "settings", None) or WebSettings.from_env()


def _uow() -> UnitOfWork:
    return UnitOfWork()


def _rasa(request: Request) -> RasaClient:
    settings = _settings(request)
    return RasaClient(settings.rasa_url, settings.rasa_token)


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(templates.get_template(name).render(**context), status_code=status)


def _safe_next(target: str | None) -> str:
    return target if target and NEXT.match(target) and "//" not in target and ".." not in target else "/console"


async def _current(request: Request) -> sessions.StaffContext | None:
    name, _ = sessions.cookie_names(_settings(request).secure_cookies)
    token = request.cookies.get(name)
    if not token:
        return None
    return await run_in_threadpool(sessions.lookup, _uow(), token)


async def page_staff(request: Request) -> sessions.StaffContext:
    """Pages (and their form posts): anonymous visitors go to the sign-in form."""
    staff = await _current(request)
    if staff is None:
        target = request.url.path if request.method == "GET" else "/console"
        raise HTTPException(303, "Sign in to the console first.",
                            headers={"Location": f"/console/login?next={quote(_safe_next(target))}"})
    return staff


async def api_staff(request: Request) -> sessions.StaffContext:
    staff = await _current(request)
    if staff is None:
        raise HTTPException(401, "Sign in to the console first.")
    return staff


async def form_staff(request: Request, staff: sessions.StaffContext = Depends(page_staff)) -> sessions.StaffContext:
    """A signed-in staff member whose POST carries this session's CSRF token."""
    given = request.headers.get("x-csrf-token")
    if not given and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        given = (await request.form()).get("csrf_token")
    if not sessions.same_token(staff.csrf_token, given if isinstance(given, str) else None):
        raise HTTPException(403, "This request did not carry the console's security token (CSRF). "
                                 "Reload the page and try again.")
    return staff


def _back(url: str, **query: str) -> RedirectResponse:
    suffix = "&".join(f"{k}={quote(v)}" for k, v in query.items() if v)
    return RedirectResponse(f"{url}?{suffix}" if suffix else url, status_code=303)


def _base(staff: sessions.StaffContext, page: str, request: Request) -> dict[str, Any]:
    return {"staff": staff, "csrf_token": staff.csrf_token, "page": page,
            "done": DONE.get(request.query_params.get("done", "")),
            "error": ERRORS.get(request.query_params.get("error", ""))}


# ----------------------------------------------------------------------------- static files

@router.get("/static/{name}", include_in_schema=False)
async def static(name: str) -> Response:
    if not re.fullmatch(r"[a-z0-9_-]+\.(css|js|svg)", name) or not (STATIC / name).is_file():
        raise HTTPException(404, "Not found.")
    return FileResponse(STATIC / name, headers={"Cache-Control": "no-cache"})


# ----------------------------------------------------------------------------- sign-in

def _login_form(request: Request, target: str, message: str | None = None, status: int = 200) -> HTMLResponse:
    settings = _settings(request)
    token = sessions.new_login_token()
    response = _render("login.html", status, csrf_token=token, next=_safe_next(target), message=message)
    _, login_cookie = sessions.cookie_names(settings.secure_cookies)
    response.set_cookie(login_cookie, token, max_age=3600, httponly=True, samesite="strict",
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
    session_cookie, login_cookie = sessions.cookie_names(settings.secure_cookies)
    if not sessions.same_token(request.cookies.get(login_cookie), csrf_token):
        return _login_form(request, next, "This sign-in form expired or did not come from this site. "
                                          "Please sign in again.", 403)
    outcome, staff = await run_in_threadpool(accounts.authenticate, _uow(), username[:200],
                                             password[:accounts.MAX_PASSWORD + 1], _client_ip(request))
    if outcome is accounts.SignIn.RATE_LIMITED:
        return _login_form(request, next, "Too many failed sign-ins for this account or from this address. "
                                          "Wait 15 minutes, then try again.", 429)
    if outcome is not accounts.SignIn.OK or staff is None:
        return _login_form(request, next, "Wrong username or password.", 401)
    token = await run_in_threadpool(sessions.create_session, _uow(), staff.id)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(session_cookie, token, max_age=int(sessions.LIFETIME.total_seconds()), httponly=True,
                        samesite="strict", secure=settings.secure_cookies, path="/")
    response.delete_cookie(login_cookie, path="/")
    return response


@router.post("/logout")
async def logout(request: Request, staff: sessions.StaffContext = Depends(form_staff)) -> Response:
    settings = _settings(request)
    session_cookie, _ = sessions.cookie_names(settings.secure_cookies)
    await run_in_threadpool(sessions.end_session, _uow(), request.cookies.get(session_cookie))
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(session_cookie, path="/")
    return response


# ----------------------------------------------------------------------------- the queue

@router.get("")
async def queue_page(request: Request, staff: sessions.StaffContext = Depends(page_staff)) -> Response:
    tickets = await run_in_threadpool(queue.open_tickets, _uow())
    return _render("queue.html", tickets=[t.as_json() for t in tickets], **_base(staff, "queue", request))


@router.get("/api/queue")
async def queue_api(staff: sessions.StaffContext = Depends(api_staff)) -> JSONResponse:
    tickets = await run_in_threadpool(queue.open_tickets, _uow())
    return JSONResponse({"tickets": [t.as_json() for t in tickets]})


# ----------------------------------------------------------------------------- one conversation

async def _ticket(ticket_id: int) -> queue.TicketView:
    ticket = await run_in_threadpool(queue.get_ticket, _uow(), ticket_id)
    if ticket is None:
        raise HTTPException(404, f"There is no ticket #{ticket_id}.")
    return ticket


@router.get("/tickets/{ticket_id}")
async def conversation_page(request: Request, ticket_id: int,
                            staff: sessions.StaffContext = Depends(page_staff)) -> Response:
    ticket = await _ticket(ticket_id)
    rasa_error = None
    tracker: dict[str, Any] = {}
    try:
        tracker = await _rasa(request).tracker(ticket.sender_id)
    except RasaError as exc:
        rasa_error = f"The transcript is not available: {exc}."
    slots = tracker.get("slots") or {}
    order_number = slots.get("order_id") if isinstance(slots.get("order_id"), str) else None
    panel = await run_in_threadpool(customer_panel, _uow(), ticket.customer_id, ticket.channel, ticket.sender_id,
                                    mentioned_skus(tracker), order_number)
    related = await run_in_threadpool(queue.conversation_tickets, _uow(), ticket.conversation_id)
    holder = next((t.assigned_to for t in related if t.status == "open" and t.assigned_to), None)
    return _render(
        "conversation.html", ticket=ticket.as_json(), ticket_payload=ticket.payload,
        messages=transcript(tracker), paused=bool(tracker.get("paused")),
        channel=tracker.get("latest_input_channel") or ticket.channel, rasa_error=rasa_error, panel=panel,
        related=[t.as_json() for t in related], holder=holder, reply_key=secrets.token_urlsafe(16),
        **_base(staff, "queue", request))


@router.get("/api/tickets/{ticket_id}/transcript")
async def transcript_api(request: Request, ticket_id: int,
                         staff: sessions.StaffContext = Depends(api_staff)) -> JSONResponse:
    ticket = await _ticket(ticket_id)
    try:
        tracker = await _rasa(request).tracker(ticket.sender_id)
    except RasaError as exc:
        return JSONResponse({"error": str(exc)}, status_code=502)
    return JSONResponse({"paused": bool(tracker.get("paused")), "messages": transcript(tracker),
                         "channel": tracker.get("latest_input_channel") or ticket.channel})


@router.post("/tickets/{ticket_id}/take-over")
async def take_over(request: Request, ticket_id: int,
                    staff: sessions.StaffContext = Depends(form_staff)) -> Response:
    ticket = await _ticket(ticket_id)
    url = f"/console/tickets/{ticket_id}"
    holder = await run_in_threadpool(queue.take_over, _uow(), ticket.conversation_id, staff.staff_id,
                                     ticket.customer_id)
    if holder is not None:
        return _back(url, error="taken_by_other")
    try:
        await _rasa(request).pause(ticket.sender_id, staff.username)
    except RasaError:
        log.exception("could not pause conversation %s", ticket.sender_id)
        await run_in_threadpool(queue.release, _uow(), ticket.conversation_id, staff.staff_id)
        return _back(url, error="rasa")
    return _back(url, done="taken")


@router.post("/tickets/{ticket_id}/reply")
async def reply(request: Request, ticket_id: int, text: str = Form(""), reply_key: str = Form(""),
                staff: sessions.StaffContext = Depends(form_staff)) -> Response:
    ticket = await _ticket(ticket_id)
    url = f"/console/tickets/{ticket_id}"
    rasa = _rasa(request)
    try:
        tracker = await rasa.tracker(ticket.sender_id)
        if not tracker.get("paused"):
            return _back(url, error="not_paused")
        await send_reply(_settings(request), rasa, _uow(), ticket.sender_id, text, staff.username, reply_key,
                         ticket.channel)
    except RasaError:
        log.exception("staff reply to %s failed", ticket.sender_id)
        return _back(url, error="rasa")
    except DeliveryError as exc:
        log.warning("staff reply to %s not delivered: %s", ticket.sender_id, exc)
        return _back(url, error="delivery")
    return _back(url, done="replied")


@router.post("/tickets/{ticket_id}/hand-back")
async def hand_back(request: Request, ticket_id: int,
                    staff: sessions.StaffContext = Depends(form_staff)) -> Response:
    ticket = await _ticket(ticket_id)
    try:
        await _rasa(request).resume(ticket.sender_id, staff.username)
    except RasaError:
        log.exception("could not resume conversation %s", ticket.sender_id)
        return _back(f"/console/tickets/{ticket_id}", error="rasa")
    await run_in_threadpool(queue.hand_back, _uow(), ticket.conversation_id)
    return _back(f"/console/tickets/{ticket_id}", done="handed_back")


# ----------------------------------------------------------------------------- refunds

@router.get("/refunds")
async def refunds_page(request: Request, staff: sessions.StaffContext = Depends(page_staff)) -> Response:
    rows = await run_in_threadpool(refunds.pending_refunds, _uow())
    return _render("refunds.html", refunds=rows, **_base(staff, "refunds", request))


@router.get("/api/refunds")
async def refunds_api(staff: sessions.StaffContext = Depends(api_staff)) -> JSONResponse:
    return JSONResponse({"refunds": await run_in_threadpool(refunds.pending_refunds, _uow())})


@router.post("/refunds/{ticket_id}/decide")
async def decide_refund(request: Request, ticket_id: int, decision: str = Form(""), back: str = Form(""),
                        staff: sessions.StaffContext = Depends(form_staff)) -> Response:
    if decision not in ("approve", "reject"):
        raise HTTPException(400, "The decision must be approve or reject.")
    url = f"/console/tickets/{ticket_id}" if back == "ticket" else "/console/refunds"
    try:
        outcome = await run_in_threadpool(refunds.decide, _uow(), ticket_id, decision == "approve", staff.username)
    except ValueError:
        raise HTTPException(404, f"There is no refund waiting for approval under ticket #{ticket_id}.") from None
    if not outcome.decided_now:
        return _back(url, done="already_decided")
    ticket = await _ticket(ticket_id)
    try:  # tell the customer where they talk to us; once, whatever the clicks
        await send_reply(_settings(request), _rasa(request), _uow(), ticket.sender_id,
                         refunds.customer_message(outcome), staff.username, f"refund-decision-{ticket_id}",
                         ticket.channel, kind="refund_decision")
    except (RasaError, DeliveryError):
        log.exception("could not tell the customer of ticket %s about the decision", ticket_id)
        return _back(url, done="approved" if outcome.approve else "rejected", error="not_told")
    return _back(url, done="approved" if outcome.approve else "rejected")


# ----------------------------------------------------------------------------- stock

@router.get("/stock")
async def stock_page(request: Request, staff: sessions.StaffContext = Depends(page_staff)) -> Response:
    panel = await run_in_threadpool(stock_panel, _uow())
    return _render("stock.html", panel=panel, **_base(staff, "stock", request))


@router.get("/api/stock")
async def stock_api(staff: sessions.StaffContext = Depends(api_staff)) -> JSONResponse:
    return JSONResponse(await run_in_threadpool(stock_panel, _uow()))
