"""The staff console (/console): accounts, sessions, CSRF, rate limits, who may see what,
refund decisions under concurrency, the stock panel; then, against the real servers and
in Chromium, a shopper handed over to a person and back, and hostile chat text shown as text."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
import uuid
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.web.app import create_app
from bot.web.console.routes import router
from bot.web.settings import WebSettings
from catalog.domain import staff as rules
from catalog.domain.access import WINDOW
from catalog.domain.staff import AccountProblem, token_hash
from catalog.services import staff as accounts
from catalog.services.staff import SignIn
from catalog.db.orm import (
    HandoffTicket,
    LedgerEntry,
    Order,
    OutboxMessage,
    OrderLine,
    Reservation,
    RestockSubscription,
    StaffSession,
    StaffUser,
    StockHold,
    StockLevel,
    Variant,
)
from catalog.clock import utcnow
from catalog.domain.statuses import CANCELLABLE_LINES, LIVE_RESERVATIONS, TicketReason
from catalog.policy import MoneySettings
from catalog.services import alerts, handoff, orders, refunds, reservations
from catalog.services.handoff import request_handoff
from catalog.services.orders import OrderProof
from catalog.services.refunds import Method, Settlement
from catalog.uow import UnitOfWork
from tests.conftest import ARTIFACTS, ROOT, STAFF_PASSWORD as PASSWORD, TODAY
from tests.demo import texts
from tests.servers import free_port
from tests.race import at_once
from tests.world import ETA, build

OTHER_PASSWORD = "another staff passphrase 7"
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(1)>"


# ----------------------------------------------------------------------------- helpers

def make_app(rasa_url: str = "", token: str = "t") -> TestClient:
    settings = WebSettings(rasa_url=rasa_url or f"http://127.0.0.1:{free_port()}", rasa_token=token)
    return TestClient(create_app(settings))


def login_token(client: TestClient) -> str:
    page = client.get("/console/login")
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def sign_in(client: TestClient, username: str, password: str):
    return client.post("/console/login", data={"username": username, "password": password,
                                               "csrf_token": login_token(client)}, follow_redirects=False)


def csrf(client: TestClient) -> str:
    page = client.get("/console")
    assert page.status_code == 200, page.text
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)


def _with_staff(url: str, monkeypatch) -> str:
    monkeypatch.setenv("DATABASE_URL", url)
    accounts.create_staff(UnitOfWork(url), "alice", PASSWORD)
    accounts.create_staff(UnitOfWork(url), "bob", OTHER_PASSWORD)
    return url


@pytest.fixture
def console(db_url, monkeypatch):
    return _with_staff(db_url, monkeypatch)


@pytest.fixture
def sqlite_console(sqlite_url, monkeypatch):
    return _with_staff(sqlite_url, monkeypatch)


def pending_refund(url: str, conversation: str = "rest:refund-shopper") -> int:
    """A refund above the approval threshold: a `refund_approval` ticket with its held ledger rows."""
    world = build(url, line_prices=("60.00", "150.00"))  # the cancelled line: 2 x 150 = 300 > 200
    proof = OrderProof(conversation_id=conversation, order_number=world.order_number, email=world.order_email)
    orders.cancel_order(UnitOfWork(url), proof, only_out_of_stock=True)
    held = refunds.settle_cancelled_lines(UnitOfWork(url), proof, Method.REFUND, "big-refund",
                                          settings=MoneySettings(Decimal("10"), Decimal("200")))
    assert held.settlement is Settlement.PENDING_APPROVAL
    return held.ticket_id


# ----------------------------------------------------------------------------- accounts

def test_passwords_are_salted_scrypt_hashes_and_weak_ones_are_refused(sqlite_console):
    first, second = rules.hash_password(PASSWORD), rules.hash_password(PASSWORD)
    assert first != second and first.startswith("scrypt$16384$8$1$")
    assert rules.verify_password(PASSWORD, first) and not rules.verify_password(PASSWORD + "x", first)
    assert not rules.verify_password(PASSWORD, "garbage")
    with UnitOfWork(sqlite_console) as uow:
        stored = uow.session.execute(select(StaffUser.password_hash).where(StaffUser.username == "alice")).scalar_one()
    assert PASSWORD not in stored and rules.verify_password(PASSWORD, stored)
    for weak, why in [("", AccountProblem.EMPTY_PASSWORD), ("   ", AccountProblem.EMPTY_PASSWORD),
                      ("short pw", AccountProblem.SHORT_PASSWORD), ("password1234", AccountProblem.COMMON_PASSWORD),
                      ("aaaaaaaaaaaaaaaa", AccountProblem.REPETITIVE_PASSWORD),
                      ("carol-is-the-best-1", AccountProblem.PASSWORD_HAS_USERNAME)]:
        assert rules.password_problem(weak, "carol") is why, weak
    assert rules.password_problem("three long words here", "carol") is None
    with pytest.raises(accounts.AccountError) as refused:
        accounts.create_staff(UnitOfWork(sqlite_console), "Alice", "yet another passphrase")
    assert refused.value.problem is AccountProblem.EXISTS


def _cli(args: list[str], url: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, DATABASE_URL=url, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "bot.web", "create-staff", *args], input=stdin, cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_create_staff_command(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"  # not even migrated: the command does it
    made = _cli(["Carol", "--password-stdin"], url, PASSWORD + "\n")
    assert made.returncode == 0 and "Created staff account 'carol'" in made.stdout and "/console" in made.stdout
    weak = _cli(["dave", "--password-stdin"], url, "hunter2\n")
    assert weak.returncode == 1 and "too short" in weak.stderr
    empty = _cli(["dave", "--password-stdin"], url, "\n")
    assert empty.returncode == 1 and "empty" in empty.stderr
    twice = _cli(["carol", "--password-stdin"], url, OTHER_PASSWORD + "\n")
    assert twice.returncode == 1 and "already exists" in twice.stderr and "--reset-password" in twice.stderr
    no_terminal = _cli(["dave"], url, "")
    assert no_terminal.returncode == 1 and "--password-stdin" in no_terminal.stderr
    bad_name = _cli(["<b>", "--password-stdin"], url, PASSWORD + "\n")
    assert bad_name.returncode == 2 and "username" in bad_name.stderr
    with UnitOfWork(url) as uow:
        assert uow.session.execute(select(StaffUser.username)).scalars().all() == ["carol"]
    token = accounts.create_session(UnitOfWork(url), 1)
    reset = _cli(["carol", "--password-stdin", "--reset-password"], url, OTHER_PASSWORD + "\n")
    assert reset.returncode == 0, reset.stderr
    assert accounts.lookup_session(UnitOfWork(url), token) is None  # a new password ends every session
    assert accounts.authenticate(UnitOfWork(url), "carol", OTHER_PASSWORD, "1.2.3.4")[0] is SignIn.OK


# ----------------------------------------------------------------------------- sessions

def test_sign_in_sets_a_strict_http_only_session_and_sign_out_ends_it(sqlite_console):
    client = make_app()
    wrong = sign_in(client, "alice", "not the passphrase")
    assert wrong.status_code == 401 and "Wrong username or password" in wrong.text
    unknown = sign_in(client, "nobody", PASSWORD)
    assert unknown.status_code == 401 and "Wrong username or password" in unknown.text
    ok = sign_in(client, "ALICE ", PASSWORD)
    assert ok.status_code == 303 and ok.headers["location"] == "/console"
    cookie = next(c for c in ok.headers.get_list("set-cookie") if c.startswith("console_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=43200" in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    with UnitOfWork(sqlite_console) as uow:  # only a hash of the token is stored
        stored = uow.session.execute(select(StaffSession.token_hash)).scalars().all()
    assert stored == [token_hash(token)] and token not in stored
    page = client.get("/console")
    assert page.status_code == 200 and "alice" in page.text
    for header, value in [("X-Frame-Options", "DENY"), ("Cache-Control", "no-store")]:
        assert page.headers[header] == value
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    out = client.post("/console/logout", data={"csrf_token": csrf(client)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/console/login"
    assert accounts.lookup_session(UnitOfWork(sqlite_console), token) is None
    client.cookies.set("console_session", token)  # the old cookie, replayed
    assert client.get("/console/api/queue").status_code == 401


def test_sessions_expire_when_idle_or_old_and_end_when_the_account_is_disabled(sqlite_console):
    now = utcnow()
    token = accounts.create_session(UnitOfWork(sqlite_console), 1, now)
    assert accounts.lookup_session(UnitOfWork(sqlite_console), token, now + dt.timedelta(minutes=90)).username == "alice"
    assert accounts.lookup_session(UnitOfWork(sqlite_console), token, now + dt.timedelta(hours=12, minutes=1)) is None
    idle = accounts.create_session(UnitOfWork(sqlite_console), 1, now)
    assert accounts.lookup_session(UnitOfWork(sqlite_console), idle, now + dt.timedelta(hours=2, minutes=1)) is None
    disabled = accounts.create_session(UnitOfWork(sqlite_console), 1, now)
    with UnitOfWork(sqlite_console) as uow:
        uow.session.get(StaffUser, 1).is_active = False
        uow.commit()
    assert accounts.lookup_session(UnitOfWork(sqlite_console), disabled, now) is None
    assert accounts.authenticate(UnitOfWork(sqlite_console), "alice", PASSWORD, "ip")[0] is SignIn.WRONG


def _route_calls():
    for route in router.routes:
        if route.path in ("/console/login", "/console/static/{name}"):
            continue
        path = route.path.replace("{ticket_id}", "1")
        for method in sorted(route.methods - {"HEAD"}):
            yield method, path


@pytest.mark.parametrize("cookies", [
    {},  # anonymous
    {"console_session": "forged-" + "x" * 40},  # a made-up token
    {"session": "shop-cart-42", "rasa_session": "widget-session", "console_login": "abc"},  # a shopper's cookies
], ids=["anonymous", "forged", "shopper"])
def test_every_console_route_refuses_anyone_without_a_staff_session(sqlite_console, cookies):
    ticket_id = pending_refund(sqlite_console)
    assert ticket_id == 1
    client = make_app()
    for name, value in cookies.items():
        client.cookies.set(name, value)
    calls = list(_route_calls())
    assert len(calls) >= 12  # every page, API and action of the router
    for method, path in calls:
        data = {"csrf_token": "abc", "decision": "approve", "text": "hi", "reply_key": "k"} if method == "POST" else None
        response = client.request(method, path, data=data, follow_redirects=False)
        if path.startswith("/console/api/"):
            assert response.status_code == 401, (method, path, response.status_code)
        else:
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"].startswith("/console/login"), (method, path)
        assert "Refund of" not in response.text and "alice" not in response.text
    with UnitOfWork(sqlite_console) as uow:  # nothing was decided or taken
        ticket = uow.session.get(HandoffTicket, ticket_id)
        assert (ticket.status, ticket.assigned_staff_id) == ("open", None)


def test_expired_session_cookie_is_refused(sqlite_console):
    client = make_app()
    token = accounts.create_session(UnitOfWork(sqlite_console), 1, utcnow() - dt.timedelta(hours=13))
    client.cookies.set("console_session", token)
    assert client.get("/console/api/queue").status_code == 401
    assert client.get("/console", follow_redirects=False).status_code == 303


# ----------------------------------------------------------------------------- CSRF

def test_posts_without_the_sessions_csrf_token_are_refused(sqlite_console):
    ticket_id = request_handoff(UnitOfWork(sqlite_console), "rest:csrf-shopper", TicketReason.CUSTOMER_REQUEST)
    alice, bob = make_app(), make_app()
    assert sign_in(alice, "alice", PASSWORD).status_code == 303
    assert sign_in(bob, "bob", OTHER_PASSWORD).status_code == 303
    bobs_token = csrf(bob)
    take_over = f"/console/tickets/{ticket_id}/take-over"
    for data, headers in [({}, {}), ({"csrf_token": ""}, {}), ({"csrf_token": bobs_token}, {}),
                          ({}, {"X-CSRF-Token": "wrong"})]:
        refused = alice.post(take_over, data=data, headers=headers, follow_redirects=False)
        assert refused.status_code == 403 and "security token" in refused.json()["detail"]
    assert alice.post("/console/logout", follow_redirects=False).status_code == 403
    with UnitOfWork(sqlite_console) as uow:
        assert uow.session.get(HandoffTicket, ticket_id).assigned_staff_id is None
    # The sign-in form has its own token (double submit): without the cookie it is refused.
    fresh = make_app()
    token = login_token(fresh)
    fresh.cookies.clear()
    forged = fresh.post("/console/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token},
                        follow_redirects=False)
    assert forged.status_code == 403 and "console_session" not in forged.headers.get("set-cookie", "")
    # With the right token the request goes through (Rasa is down here, so the take-over is undone).
    ok = alice.post(take_over, data={"csrf_token": csrf(alice)}, follow_redirects=False)
    assert ok.status_code == 303 and "error=rasa" in ok.headers["location"]
    with UnitOfWork(sqlite_console) as uow:
        assert uow.session.get(HandoffTicket, ticket_id).assigned_staff_id is None


# ----------------------------------------------------------------------------- rate limits

def test_sign_in_is_rate_limited_per_username_and_per_address(sqlite_console):
    client = make_app()
    for _ in range(rules.MAX_FAILURES_PER_USERNAME):
        assert sign_in(client, "bob", "wrong wrong wrong").status_code == 401
    limited = sign_in(client, "bob", OTHER_PASSWORD)  # even the right password now
    assert limited.status_code == 429 and "Too many failed sign-ins" in limited.text
    assert sign_in(make_app(), "alice", PASSWORD).status_code == 303  # another account is not locked
    for i in range(rules.MAX_FAILURES_PER_IP - rules.MAX_FAILURES_PER_USERNAME - 1):
        assert sign_in(client, f"guess{i}", "wrong wrong wrong").status_code == 401
    assert sign_in(client, "alice", PASSWORD).status_code == 429  # this address has guessed enough
    later = utcnow() + WINDOW + dt.timedelta(minutes=1)
    assert accounts.authenticate(UnitOfWork(sqlite_console), "bob", OTHER_PASSWORD, "testclient", later)[0] \
        is SignIn.OK


# ----------------------------------------------------------------------------- taking over

def test_one_staff_member_holds_a_conversation_and_hand_back_keeps_undecided_refunds(sqlite_console):
    from catalog.views import tickets

    url = sqlite_console
    conversation = "rest:refund-shopper"
    refund_ticket = pending_refund(url, conversation)
    asked = request_handoff(UnitOfWork(url), conversation, TicketReason.CUSTOMER_REQUEST, None, "help <b>me</b>")
    assert handoff.split_conversation(conversation) == ("rest", "refund-shopper")
    assert handoff.split_conversation("telegram:12:34") == ("telegram", "12:34")
    assert handoff.take_over(UnitOfWork(url), conversation, 1) is None
    assert handoff.take_over(UnitOfWork(url), conversation, 1) is None  # again: still hers
    assert handoff.take_over(UnitOfWork(url), conversation, 2) == "alice"  # bob cannot take it from her
    assert {t.id: t.assigned_to for t in tickets.open_tickets(UnitOfWork(url))} == {refund_ticket: "alice",
                                                                                    asked: "alice"}
    assert handoff.hand_back(UnitOfWork(url), conversation) == 1
    left = tickets.open_tickets(UnitOfWork(url))
    assert [(t.id, t.assigned_to) for t in left] == [(refund_ticket, None)]  # the refund still waits
    assert handoff.take_over(UnitOfWork(url), "rest:someone-else", 2) is None  # no ticket yet: one is opened
    assert [t.assigned_to for t in tickets.conversation_tickets(UnitOfWork(url), "rest:someone-else")] == ["bob"]


def test_conversation_page_shows_the_customers_alerts_and_orders_while_rasa_is_down(sqlite_console):
    """The page is built from the database even when the transcript cannot be read; the
    customer's panel marks the variants the conversation was about."""
    from bot.web.console.routes import customer_json
    from catalog.views import customer_panel

    url = sqlite_console
    world = build(url)
    customer = world.customers[0]
    alerts.subscribe(UnitOfWork(url), customer, "telegram", "tg0", product_id=world.product_id)
    alerts.subscribe(UnitOfWork(url), customer, "telegram", "tg0", sku="RTR-42")
    ticket = request_handoff(UnitOfWork(url), "telegram:tg0", TicketReason.CUSTOMER_REQUEST, customer, "where is it?")
    client = make_app()
    assert sign_in(client, "alice", PASSWORD).status_code == 303
    page = client.get(f"/console/tickets/{ticket}")
    assert page.status_code == 200, page.text
    assert "The transcript is not available" in page.text
    assert "Ridgeline Trail Runner" in page.text and "any variant" in page.text and "SO-10001" in page.text
    panel = customer_panel.customer_panel(UnitOfWork(url), customer, "telegram", "tg0", ["rtr-42"],
                                          None, TODAY, 3)
    shown = customer_json(panel, ["RTR-42"])
    assert [a["sku"] for a in shown["alerts"]] == ["any variant", "RTR-42"]
    assert {v["sku"]: v["mentioned"] for p in shown["products"] for v in p["variants"]} == {
        "RTR-42": True, "RTR-43": False}
    assert [o["number"] for o in shown["orders"]] == ["SO-10001"]


# ----------------------------------------------------------------------------- refunds

def test_refund_approval_pays_once_when_clicked_twice_by_two_staff_at_once(console):
    ticket_id = pending_refund(console)
    alice, bob = make_app(), make_app()
    assert sign_in(alice, "alice", PASSWORD).status_code == 303
    assert sign_in(bob, "bob", OTHER_PASSWORD).status_code == 303
    tokens = {id(alice): csrf(alice), id(bob): csrf(bob)}
    page = alice.get("/console/refunds")
    assert "300.00 USD" in page.text and "SO-10001" in page.text
    clicks = [alice, bob] * 5
    answers = at_once(lambda client: client.post(f"/console/refunds/{ticket_id}/decide", data={
        "csrf_token": tokens[id(client)], "decision": "approve"}, follow_redirects=False), clicks)
    assert all(a.status_code == 303 for a in answers)
    assert sum("done=approved" in a.headers["location"] for a in answers) == 1
    assert sum("done=already_decided" in a.headers["location"] for a in answers) == len(clicks) - 1
    with UnitOfWork(console) as uow:
        rows = uow.session.execute(select(LedgerEntry.kind, LedgerEntry.amount).where(
            LedgerEntry.ticket_id == ticket_id).order_by(LedgerEntry.id)).all()
        status = uow.session.get(HandoffTicket, ticket_id).status
    assert [tuple(r) for r in rows] == [("refund_pending", Decimal("300.00")), ("refund_approved", Decimal("300.00"))]
    assert status == "approved"
    assert alice.get("/console/api/refunds").json() == {"refunds": []}
    again = bob.post(f"/console/refunds/{ticket_id}/decide", data={"csrf_token": tokens[id(bob)], "decision": "reject"},
                     follow_redirects=False)
    assert "already_decided" in again.headers["location"]


# ----------------------------------------------------------------------------- stock panel

def _expected_stock(url: str, threshold: int) -> dict[str, dict]:
    """The panel's numbers computed the plain way, row by row."""
    now = utcnow()
    with UnitOfWork(url) as uow:
        s = uow.session
        out = {}
        for v in s.execute(select(Variant)).scalars():
            shelf = sum(max(0, x.on_hand - x.reserved - x.safety_stock)
                        for x in s.execute(select(StockLevel).where(StockLevel.variant_id == v.id)).scalars())
            held = sum(h.quantity for h in s.execute(select(StockHold).where(
                StockHold.variant_id == v.id, StockHold.status == "active", StockHold.expires_at > now)).scalars())
            held += sum(r.quantity_allocated for r in s.execute(select(Reservation).where(
                Reservation.variant_id == v.id, Reservation.status.in_(LIVE_RESERVATIONS))).scalars())
            available = max(0, shelf - held)
            if available > threshold:
                continue
            res = s.execute(select(Reservation).where(Reservation.variant_id == v.id,
                                                      Reservation.status == "active")).scalars().all()
            subs = [x for x in s.execute(select(RestockSubscription).where(
                RestockSubscription.product_id == v.product_id, RestockSubscription.status == "active")).scalars()
                if x.variant_id in (None, v.id)]
            out[v.sku] = {"available": available, "waiting_customers": len({r.customer_id for r in res}
                                                                          | {x.customer_id for x in subs}),
                          "reservations": len(res), "alerts": len(subs)}
    return out


def test_stock_panel_numbers_match_the_database(console):
    world = build(console, incoming=10, customers=4, on_hand=0)
    c = world.customers
    reservations.reserve(UnitOfWork(console), c[0], "RTR-42", 2, today=TODAY)
    reservations.reserve(UnitOfWork(console), c[1], "RTR-42", 1, today=TODAY)
    alerts.subscribe(UnitOfWork(console), c[1], "telegram", "tg1", sku="RTR-42")  # also has a reservation
    alerts.subscribe(UnitOfWork(console), c[2], "telegram", "tg2", product_id=world.product_id)  # any variant
    alerts.subscribe(UnitOfWork(console), c[3], "telegram", "tg3", sku="RTR-43")
    with UnitOfWork(console) as uow:  # a hold on the sibling (3 on the shelf): 2 left, below the threshold
        uow.session.add(StockHold(variant_id=world.sibling_id, customer_id=c[3], quantity=1,
                                  expires_at=utcnow() + dt.timedelta(hours=1)))
        uow.commit()
    client = make_app()
    assert sign_in(client, "alice", PASSWORD).status_code == 303
    panel = client.get("/console/api/stock").json()
    expected = _expected_stock(console, panel["threshold"])
    got = {i["sku"]: {k: i[k] for k in ("available", "waiting_customers", "reservations", "alerts")}
           for i in panel["items"]}
    assert got == expected and panel["total"] == len(expected)
    assert got["RTR-42"] == {"available": 0, "waiting_customers": 3, "reservations": 2, "alerts": 2}
    assert got["RTR-43"] == {"available": 2, "waiting_customers": 2, "reservations": 0, "alerts": 2}
    runner = next(i for i in panel["items"] if i["sku"] == "RTR-42")
    assert runner["purchase_orders"] == [{"reference": "PO-1001", "supplier": "Fast Co", "eta": ETA.isoformat(),
                                          "quantity": 10}]
    assert panel["items"][0]["sku"] == "RTR-42"  # most-awaited first
    page = client.get("/console/stock")
    assert page.status_code == 200 and f"PO-1001: 10 due {ETA.isoformat()}" in page.text


# ----------------------------------------------------------------------------- real servers, real browser

@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    yield page
    context.close()


def browser_sign_in(page, web_url: str) -> None:
    page.goto(f"{web_url}/console")  # anonymous: sent to the sign-in form
    assert "/console/login" in page.url
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{web_url}/console")


def tracker(servers, sender: str) -> dict:
    url = f"{servers.rasa_url}/conversations/{sender}/tracker?token={servers.rasa_token}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def live_refresh(page) -> None:
    """Wait for the next refresh of the queue by the page script (its status line says when)."""
    page.evaluate("document.getElementById('live-status').textContent = 'waiting'")
    page.wait_for_function("() => document.getElementById('live-status').textContent.startsWith('updated')")


def shot(page, name: str, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=full_page)


def test_staff_take_over_reply_and_hand_back_in_the_browser(stack, page):
    page.goto(f"{stack.web_url}/console/login")
    shot(page, "login")
    browser_sign_in(page, stack.web_url)
    page.evaluate("window.loadedOnce = 'same document'")
    sender = f"shopper-{uuid.uuid4().hex[:8]}"
    assert texts(stack.say(sender, "hi")).startswith("Hi!")
    asked = texts(stack.say(sender, "can I speak to a human?"))
    ticket_id = int(re.search(r"ticket #(\d+)", asked).group(1))

    row = page.locator(f'#queue-rows tr[data-ticket="{ticket_id}"]')
    row.wait_for()  # appeared without a reload
    assert page.evaluate("window.loadedOnce") == "same document"
    assert "asked for a person" in row.inner_text() and "can I speak to a human?" in row.inner_text()
    assert "rest" in row.inner_text() and sender in row.inner_text()
    shot(page, "queue")

    row.locator("a").click()
    page.wait_for_url(f"**/console/tickets/{ticket_id}")
    assert "can I speak to a human?" in page.locator("#transcript").inner_text()
    assert "The assistant is answering" in page.locator("#bot-state").inner_text()
    page.click("#take-over")
    page.wait_for_selector("#send-reply")
    assert tracker(stack, sender)["paused"] is True
    assert "alice has this conversation" in page.locator("#bot-state").inner_text()

    page.fill("#reply-text", "Hi, this is Alice from the team. Let me check that for you.")
    page.click("#send-reply")
    page.wait_for_selector("text=Message sent.")
    assert stack.say(sender, "are you still there?") == []  # the bot stays quiet while paused
    events = tracker(stack, sender)["events"]
    said = [e["text"] for e in events if e["event"] == "user"]
    staff_lines = [e for e in events if e["event"] == "bot" and (e.get("metadata") or {}).get("staff") == "alice"
                   and e.get("text")]
    assert [e["text"] for e in staff_lines] == ["Hi, this is Alice from the team. Let me check that for you."]
    assert said[-1] == "are you still there?"  # recorded, not answered
    last_user = max(i for i, e in enumerate(events) if e["event"] == "user")
    assert not [e for e in events[last_user:] if e["event"] in ("bot", "action") and e.get("name") != "action_extract_slots"]
    page.locator("#transcript", has_text="are you still there?").wait_for()  # the shopper's words arrive live
    shot(page, "conversation")

    page.click("#hand-back")
    page.wait_for_selector("text=Handed back")
    state = tracker(stack, sender)
    assert state["paused"] is False
    assert any((e.get("metadata") or {}).get("handed_back") for e in state["events"] if e["event"] == "bot")
    with UnitOfWork(stack.database_url) as uow:
        ticket = uow.session.get(HandoffTicket, ticket_id)
        assert ticket.status == "closed" and ticket.closed_at is not None
    assert texts(stack.say(sender, "hi")).startswith("Hi!")  # the bot answers again
    page.goto(f"{stack.web_url}/console")
    live_refresh(page)
    assert page.locator(f'#queue-rows tr[data-ticket="{ticket_id}"]').count() == 0
    assert page.dialogs == []


def test_hostile_chat_text_is_shown_as_text_in_the_console(stack, page):
    sender = f"hostile-{uuid.uuid4().hex[:8]}"
    stack.say(sender, HOSTILE)
    asked = texts(stack.say(sender, "can I speak to a human?"))
    ticket_id = int(re.search(r"ticket #(\d+)", asked).group(1))
    browser_sign_in(page, stack.web_url)
    row = page.locator(f'#queue-rows tr[data-ticket="{ticket_id}"]')
    row.wait_for()
    live_refresh(page)  # the row drawn again by the page script, from the JSON
    assert HOSTILE in row.locator("td.summary").inner_text()

    def no_injected_elements():
        assert page.evaluate("document.querySelectorAll('img').length") == 0
        assert page.evaluate("[...document.scripts].map(s => s.src.replace(location.origin, ''))") == [
            "/console/static/console.js"]

    no_injected_elements()
    page.goto(f"{stack.web_url}/console/tickets/{ticket_id}")
    assert HOSTILE in page.locator("#transcript").inner_text()  # server-rendered, escaped
    no_injected_elements()
    page.evaluate("document.querySelectorAll('#transcript li').forEach(li => li.dataset.server = 'yes')")
    page.wait_for_function("() => !document.querySelector('#transcript li[data-server]')")  # drawn again by the script
    assert HOSTILE in page.locator("#transcript").inner_text()
    no_injected_elements()
    assert page.dialogs == []
    shot(page, "hostile-text")


def test_refund_decided_in_the_browser_pays_once_and_tells_the_customer(stack, page):
    sender = f"refund-{uuid.uuid4().hex[:8]}"
    ticket_id, order_id = _pending_refund_in_demo_store(stack.database_url, f"rest:{sender}")
    browser_sign_in(page, stack.web_url)
    page.goto(f"{stack.web_url}/console/refunds")
    row = page.locator(f'tr[data-ticket="{ticket_id}"]')
    assert "USD" in row.inner_text()
    shot(page, "refunds")
    row.locator("button[value=approve]").click()
    page.wait_for_selector("text=Refund approved and paid.")
    with UnitOfWork(stack.database_url) as uow:
        kinds = uow.session.execute(select(LedgerEntry.kind).where(LedgerEntry.ticket_id == ticket_id)).scalars().all()
        assert uow.session.get(HandoffTicket, ticket_id).status == "approved"
    assert kinds.count("refund_approved") == kinds.count("refund_pending") >= 1
    told = [e for e in tracker(stack, sender)["events"] if e["event"] == "bot" and e.get("text")]
    assert len(told) == 1 and "is approved" in told[0]["text"]
    page.goto(f"{stack.web_url}/console/stock")
    assert page.locator("table.stock tbody tr").count() > 0
    shot(page, "stock", full_page=False)


def _pending_refund_in_demo_store(url: str, conversation: str) -> tuple[int, int]:
    """Cancel the cancellable lines of a demo order and ask for the money back, held for approval."""
    with UnitOfWork(url) as uow:
        order = uow.session.execute(
            select(Order).join(OrderLine, OrderLine.order_id == Order.id)
            .where(OrderLine.status.in_(CANCELLABLE_LINES)).order_by(Order.id)).scalars().first()
        order_id, number, email = order.id, order.number, order.email
    proof = OrderProof(conversation_id=conversation, order_number=number, email=email)
    orders.cancel_order(UnitOfWork(url), proof)
    held = refunds.settle_cancelled_lines(UnitOfWork(url), proof, Method.REFUND, f"console-{conversation}",
                                          settings=MoneySettings(Decimal("10"), Decimal("1")))
    assert held.settlement is Settlement.PENDING_APPROVAL
    return held.ticket_id, order_id


@pytest.mark.parametrize("channel", ["telegram", "socketio"])
def test_staff_replies_reach_telegram_through_the_outbox_and_the_web_chat_through_the_relay(stack, channel):
    import httpx

    # a widget session id is what Rasa makes up: 32 hex digits (other ids are refused for the web)
    sender = f"{uuid.uuid4().int % 10 ** 9}" if channel == "telegram" else uuid.uuid4().hex
    said = {"event": "user", "text": "where is my parcel?", "input_channel": channel, "timestamp": time.time(),
            "parse_data": {"intent": {"name": "order_status", "confidence": 1.0}, "entities": []}}
    httpx.post(f"{stack.rasa_url}/conversations/{sender}/tracker/events", params={"token": stack.rasa_token},
               json=[said], timeout=30).raise_for_status()
    ticket_id = request_handoff(UnitOfWork(stack.database_url), f"{channel}:{sender}", TicketReason.CUSTOMER_REQUEST, None,
                                "where is my parcel?")
    with httpx.Client(base_url=stack.web_url, timeout=30) as client:
        form = client.get("/console/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        assert client.post("/console/login", data={"username": "alice", "password": PASSWORD,
                                                   "csrf_token": token}).status_code in (200, 303)
        token = re.search(r'<meta name="csrf-token" content="([^"]+)"', client.get("/console").text).group(1)
        taken = client.post(f"/console/tickets/{ticket_id}/take-over", data={"csrf_token": token})
        assert "done=taken" in taken.headers["location"]
        for _ in range(2):  # a double submit of the same form delivers once
            sent = client.post(f"/console/tickets/{ticket_id}/reply",
                               data={"csrf_token": token, "text": "Your parcel left today.", "reply_key": "form-1"})
            assert "done=replied" in sent.headers["location"], sent.headers["location"]
    events = tracker(stack, sender)["events"]
    replies = [e for e in events if e["event"] == "bot" and e.get("text") == "Your parcel left today."]
    assert len(replies) == 1 and replies[0]["metadata"]["staff"] == "alice"
    with UnitOfWork(stack.database_url) as uow:
        queued = uow.session.execute(select(OutboxMessage.channel, OutboxMessage.recipient, OutboxMessage.kind,
                                            OutboxMessage.body).where(OutboxMessage.kind == "staff_reply",
                                                                      OutboxMessage.recipient == sender)).all()
    if channel == "telegram":  # sent by the Telegram dispatcher, in order with the chat's other messages
        assert [tuple(q) for q in queued] == [("telegram", sender, "staff_reply", "Your parcel left today.")]
    else:  # pushed by Rasa's socket.io channel to the widget's room
        assert queued == [] and replies[0]["metadata"]["author"] == "alice"
