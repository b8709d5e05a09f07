"""The shop's website and its chat widget, in a real browser against the real servers.

scripts/serve.sh runs on free ports over a copy of the seeded demo store (Rasa with its
socket.io channel, the action server, the web server, the web sender); Chromium, driven by
Playwright, opens the shop's pages and talks to the assistant through the widget. Nothing
is mocked; the demo store's pictures (https://shop.example/...) are refused, as they would
be offline, so the pages and cards must do without them. Screenshots of the widget
(desktop and phone) are saved under test-artifacts/.
"""
from __future__ import annotations

import asyncio
import csv
import os
import re
import subprocess
import sys
import tempfile
import time
import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from bot.web.settings import WebSettings
from catalog.db.orm import OutboxMessage, Product, RestockSubscription, SubstituteFeedback
from catalog.uow import UnitOfWork
from catalog.wording.format import day
from catalog.wording.substitutes import button_title
from tests.conftest import ARTIFACTS, TODAY
from tests.demo import in_stock_suggestion, out_of_stock_incoming, restock
from tests.servers import ROOT, wait_until

from playwright.sync_api import expect

ANSWER = 90_000  # ms: the first answers of a fresh server load models and build the substitutes index
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def servers(stack):
    return stack


class Page:
    """A browser tab with its own storage (a new shopper), recording dialogs and script errors."""

    def __init__(self, browser, servers, **context_options) -> None:
        self.context = browser.new_context(**context_options)
        self.context.route(re.compile(r"^https?://shop\.example/.*"), lambda route: route.abort())
        self.page = self.context.new_page()
        self.servers = servers
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if "Content Security Policy" in m.text else None)

    def goto(self, path: str = "/"):
        return self.page.goto(self.servers.web_url + path)

    # the widget
    def open_chat(self) -> None:
        self.page.get_by_role("button", name="Chat with us").click()
        expect(self.input).to_be_visible()

    @property
    def input(self):
        return self.page.get_by_label("Your message")

    @property
    def log(self):
        return self.page.get_by_role("log")

    def bot_messages(self):
        return self.log.locator(".sc-bot")

    def say(self, text: str) -> None:
        self.input.fill(text)
        self.input.press("Enter")

    def wait_bot(self, count_before: int, pattern: str | re.Pattern, timeout: float = ANSWER):
        """The first bot message after the first `count_before` that matches `pattern`."""
        regex = pattern if isinstance(pattern, re.Pattern) else re.compile(re.escape(pattern))
        messages = self.log.locator(".sc-bot")
        deadline = time.monotonic() + timeout / 1000
        while True:
            texts = messages.all_inner_texts()
            found = next((i for i in range(count_before, len(texts)) if regex.search(texts[i])), None)
            if found is not None:
                return messages.nth(found)
            if time.monotonic() > deadline:
                raise AssertionError(f"no bot message matching {regex.pattern!r} after #{count_before}: {texts}")
            self.page.wait_for_timeout(200)

    def session_id(self) -> str:
        return self.page.evaluate("() => window.StockoutChat.sessionId")

    def wait_connected(self, timeout: float = 30_000) -> None:
        self.page.wait_for_function("() => window.StockoutChat && window.StockoutChat.connected", timeout=timeout)

    def close(self) -> None:
        self.context.close()
        assert self.errors == [], self.errors
        assert self.dialogs == [], self.dialogs


@pytest.fixture
def tab(browser, servers):
    pages: list[Page] = []

    def make(**options) -> Page:
        pages.append(Page(browser, servers, **options))
        return pages[-1]

    yield make
    for p in pages:
        p.close()


# --------------------------------------------------------------------------- the shop's pages

def test_home_page_lists_products_by_page_with_categories_and_search(tab, servers):
    t = tab()
    response = t.goto("/")
    assert response.status == 200
    page = t.page
    with UnitOfWork(servers.database_url) as uow:
        total = len(uow.catalog.product_ids())
    assert total > 300
    expect(page.locator(".product-tile")).to_have_count(24)  # hundreds of products: one page at a time
    expect(page.locator(".summary")).to_contain_text(f"{total} products")
    expect(page.get_by_role("navigation", name="Categories")).to_contain_text("Kitchen > Coffee Machines")
    for badge in page.locator(".product-tile .badge").all_inner_texts():
        assert re.fullmatch(r"In stock|Only \d+ left|Out of stock", badge), badge
    expect(page.locator(".product-tile .thumb.no-image").first).to_be_visible()  # pictures refused: placeholders
    page.get_by_role("link", name="Next →").click()
    expect(page.locator(".summary")).to_contain_text("page 2 of")

    page.get_by_role("navigation", name="Categories").get_by_role("link", name=re.compile("^Kitchen > Coffee Machines")).click()
    with UnitOfWork(servers.database_url) as uow:
        machines = uow.session.execute(select(Product.title).where(Product.category == "Kitchen > Coffee Machines")
                                       .order_by(Product.id)).scalars().all()
    expect(page.locator(".product-tile")).to_have_count(min(len(machines), 24))
    expect(page.locator(".product-tile .tile-title").first).to_have_text(machines[0])

    page.get_by_label("Search products").fill(machines[0])
    page.get_by_label("Search products").press("Enter")
    expect(page.locator(".product-tile .tile-title").filter(has_text=machines[0])).to_have_count(1)


def test_product_page_shows_stock_and_restock_date_and_unknown_sku_is_a_friendly_404(tab, servers):
    title, stock, outlook = out_of_stock_incoming(servers.database_url)
    t = tab()
    assert t.goto(f"/products/{stock.sku}").status == 200
    page = t.page
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    restock_day = day(outlook.restock_date, TODAY)
    expect(page.locator("#selected-stock")).to_have_text(f"Out of stock — back around {restock_day}")
    expect(page.locator("#selected-price")).to_contain_text(f"{stock.price:,.2f}")
    row = page.locator(f"tr[data-sku='{stock.sku}']")
    expect(row).to_contain_text("Out of stock")
    expect(row.locator(f"time[datetime='{outlook.restock_date.isoformat()}']")).to_contain_text(
        f"Back around {restock_day} ({outlook.restock_qty} on order)")
    expect(page.locator(".thumb.no-image")).to_be_visible()  # the picture cannot load: a placeholder

    # A product with several variants: one row each, with its own stock.
    with UnitOfWork(servers.database_url) as uow:
        pid = next(p for p in uow.session.execute(select(Product.id).order_by(Product.id)).scalars()
                   if len(uow.catalog.variant_stock(p)) > 2)
        variants = uow.catalog.variant_stock(pid)
    t.goto(f"/products/{variants[1].sku}")
    expect(page.locator("tbody tr")).to_have_count(len(variants))
    expect(page.locator("tr.selected")).to_have_attribute("data-sku", variants[1].sku)

    response = t.goto("/products/NO-SUCH-SKU-%3Cb%3E")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("We can't find that product")
    expect(page.locator(".not-found .sku")).to_have_text("NO-SUCH-SKU-<b>")
    expect(page.get_by_role("button", name="Chat with us")).to_be_visible()  # the widget is on every page


def test_catalog_text_is_escaped_on_the_pages(tab, servers):
    hostile = '<img src=x onerror=alert(1)> Mug "quoted" & <b>bold</b>'
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["sku", "title", "brand", "description", "category", "price", "on_hand"])
        writer.writerow(["XSS-1", hostile, "<script>alert(2)</script>", "</td><script>alert(3)</script>",
                         "Test > <i>Escaping</i>", "5.00", "3"])
    result = subprocess.run([sys.executable, "-m", "catalog", "import", fh.name], cwd=ROOT,
                            env=dict(os.environ, DATABASE_URL=servers.database_url), capture_output=True, text=True,
                            timeout=120)
    os.unlink(fh.name)
    assert result.returncode == 0, result.stderr
    t = tab()
    t.goto("/products/XSS-1")
    page = t.page
    expect(page.get_by_role("heading", level=1)).to_have_text(hostile)
    expect(page.locator(".brand")).to_have_text("by <script>alert(2)</script>")
    assert page.locator("img[src='x'], main b, main i").count() == 0
    t.goto("/?q=" + "onerror")
    expect(page.locator(".product-tile .tile-title")).to_have_text([hostile])
    assert page.locator("img[src='x']").count() == 0
    # t.close() (by the fixture) checks that no dialog opened and no script failed


# --------------------------------------------------------------------------- the widget

def test_widget_conversation_with_card_and_buttons_survives_a_reload(tab, servers):
    title, stock, outlook = out_of_stock_incoming(servers.database_url)
    t = tab(viewport={"width": 1280, "height": 800})
    t.goto("/")
    t.open_chat()
    t.wait_connected()
    t.say(f"is {stock.sku} in stock?")
    answer = t.wait_bot(0, "out of stock")
    expect(answer).to_contain_text(title)
    expect(t.log.locator(".sc-user").last).to_have_text(f"is {stock.sku} in stock?")

    restock_day = day(outlook.restock_date, TODAY)
    card = t.log.get_by_role("article", name=f"Product: {title}")
    expect(card).to_be_visible()
    expect(card.locator(".sc-badge")).to_have_text(f"Out of stock — back around {restock_day}")
    expect(card.locator(".sc-card-price")).to_contain_text(f"{stock.price:,.2f}")
    expect(card.get_by_role("link", name=title)).to_have_attribute("href", f"{servers.web_url}/products/{stock.sku}")
    expect(card.locator(".sc-card-media.sc-noimg")).to_be_visible()  # the picture is refused: placeholder

    suggestions = t.log.get_by_role("group", name="Suggested replies").last
    expect(suggestions.get_by_role("button", name="No thanks")).to_be_visible()
    # the suggestion to take: another product, on the shelf now
    pick = in_stock_suggestion(servers.database_url, stock.sku)
    first_title = button_title(pick)
    expect(suggestions.get_by_role("button", name=first_title, exact=True)).to_be_visible()
    card.scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    t.page.screenshot(path=str(ARTIFACTS / "widget-desktop.png"))

    # A reload keeps the transcript and the conversation (same session: the product is remembered).
    session = t.session_id()
    shown = t.log.locator(".sc-msg, .sc-button, .sc-card-title, .sc-card-price, .sc-badge")
    transcript = shown.all_inner_texts()
    t.page.reload()
    expect(t.input).to_be_visible()  # the chat was open: it stays open
    assert shown.all_inner_texts() == transcript
    t.wait_connected()
    assert t.session_id() == session
    before = t.bot_messages().count()
    t.say("ok, when will it be back?")
    t.wait_bot(before, f"{outlook.restock_qty} more around {restock_day}")

    # A suggestion's button (drawn again from the saved transcript) sends its payload; its title is shown.
    before = t.bot_messages().count()
    t.log.get_by_role("group", name="Suggested replies").first.get_by_role("button", name=first_title,
                                                                           exact=True).click()
    expect(t.log.locator(".sc-user").last).to_have_text(first_title)
    chosen = t.wait_bot(before, re.compile(r"in stock|left", re.I))
    expect(chosen).to_contain_text(pick.title)
    expect(t.log.get_by_role("article", name=re.compile(f"^Product: {re.escape(pick.title)}"))).to_be_visible()
    with UnitOfWork(servers.database_url) as uow:
        feedback = uow.session.execute(select(SubstituteFeedback.sku, SubstituteFeedback.accepted,
                                              SubstituteFeedback.conversation_id)).all()
    assert (stock.sku, True, session) in feedback  # the same conversation throughout


def test_a_message_with_markup_is_shown_as_text(tab, servers):
    hostile = "<img src=x onerror=alert(1)> is this <b>in stock</b>?"
    t = tab()
    t.goto("/")
    t.open_chat()
    t.wait_connected()
    t.say(hostile)
    expect(t.log.locator(".sc-user").last).to_have_text(hostile)
    t.wait_bot(0, re.compile(".+"))
    assert t.page.locator("img[src='x'], .sc-log b").count() == 0
    t.page.reload()  # drawn again from the saved transcript: still text
    expect(t.log.locator(".sc-user").last).to_have_text(hostile)
    assert t.page.locator("img[src='x'], .sc-log b").count() == 0
    # the fixture checks that no dialog opened


def test_keyboard_only_and_a_phone_sized_screen(tab, servers):
    t = tab(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    t.goto("/")
    page = t.page
    launcher = page.get_by_role("button", name="Chat with us")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    # Tab order: everything on the page, then the widget's button; Shift+Tab from the top gets there at once.
    page.keyboard.press("Shift+Tab")
    for _ in range(80):
        if page.evaluate("() => document.activeElement && document.activeElement.textContent") == "Chat with us":
            break
        page.keyboard.press("Tab")
    expect(launcher).to_be_focused()
    page.keyboard.press("Enter")
    expect(t.input).to_be_focused()
    expect(page.locator(".sc-launcher")).to_have_attribute("aria-expanded", "true")  # (and hidden under the panel)

    # The panel takes the whole phone screen, with the input and send button on it.
    panel = page.get_by_role("region", name="Shop assistant")
    box = panel.bounding_box()
    assert box and box["x"] == 0 and box["width"] == PHONE["width"] and box["height"] == PHONE["height"], box
    for element in (t.input, page.get_by_role("button", name="Send message")):
        b = element.bounding_box()
        assert b and 0 <= b["x"] and b["x"] + b["width"] <= PHONE["width"] and b["y"] + b["height"] <= PHONE["height"]

    # Tab moves from the close button through the conversation to the input; Enter sends.
    page.get_by_role("button", name="Close chat").focus()
    page.keyboard.press("Tab")
    expect(t.log).to_be_focused()
    page.keyboard.press("Tab")
    expect(t.input).to_be_focused()
    t.wait_connected()
    page.keyboard.type("do you have any espresso machines in stock?")
    page.keyboard.press("Enter")
    t.wait_bot(0, re.compile(".+"))
    buttons = t.log.get_by_role("group", name="Suggested replies").last.get_by_role("button")
    if buttons.count():  # "which one do you mean?": a button works from the keyboard too
        before = t.bot_messages().count()
        buttons.first.focus()
        page.keyboard.press("Enter")
        t.wait_bot(before, re.compile(".+"))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget-phone.png"))

    page.keyboard.press("Escape")  # closes the chat, focus back on its button
    expect(launcher).to_be_focused()
    expect(t.input).to_be_hidden()


def test_back_in_stock_alert_reaches_the_open_widget(tab, servers):
    title, stock, _ = out_of_stock_incoming(servers.database_url)
    t = tab()
    t.goto(f"/products/{stock.sku}")
    t.page.get_by_role("button", name="Ask our assistant about this").click()  # opens the chat and asks
    t.wait_connected()
    t.wait_bot(0, "out of stock")
    before = t.bot_messages().count()
    t.say("tell me when it's back")
    t.wait_bot(before, "as soon as")
    session = t.session_id()
    with UnitOfWork(servers.database_url) as uow:
        sub = uow.session.execute(select(RestockSubscription).where(
            RestockSubscription.recipient == session, RestockSubscription.status == "active")).scalar_one()
        assert sub.channel == "socketio"

    before = t.bot_messages().count()
    restock(servers.database_url, stock.sku)
    alert = t.wait_bot(before, "is held for you")  # queued, then sent by bot.web.dispatch through Rasa
    expect(alert).to_contain_text("Back in stock")
    expect(alert).to_contain_text(title)
    with UnitOfWork(servers.database_url) as uow:
        sent = uow.session.execute(select(OutboxMessage.status, OutboxMessage.channel).where(
            OutboxMessage.recipient == session)).all()
    assert sent == [("sent", "socketio")]
    # Shown once, also after a reload (the history does not add it again).
    t.page.reload()
    t.wait_connected()  # connected once the history is taken in (widget.js: syncHistory, then ready)
    expect(t.log.locator(".sc-bot").filter(has_text="is held for you")).to_have_count(1)


def test_reconnects_after_a_dropped_connection_and_gets_what_it_missed(tab, servers):
    t = tab()
    t.goto("/")
    t.open_chat()
    t.wait_connected()
    typing = t.page.get_by_role("status", name="The assistant is typing")
    assert t.page.evaluate("""() => {  // sent, and the typing indicator up, in the same turn
        window.StockoutChat.send("hello");
        return getComputedStyle(document.querySelector(".sc-typing")).display !== "none";
    }""")
    t.wait_bot(0, re.compile(".+"))
    expect(typing).to_be_hidden()  # the answer replaced it
    session = t.session_id()

    t.context.set_offline(True)  # the network goes: the widget drops the connection and keeps retrying
    expect(t.page.get_by_role("status").filter(has_text="Reconnecting")).to_be_visible()
    # Meanwhile: a staff reply is sent to the conversation (as the console does) ...
    settings = WebSettings(rasa_url=servers.rasa_url, rasa_token=servers.rasa_token)
    with ThreadPoolExecutor(1) as pool:  # Playwright's loop owns this thread
        pool.submit(asyncio.run, settings.rasa_api().send_to_widget(
            session, "Hi, Sam from support here <b>!</b>\n\nIt ships on Monday.",
            {"kind": "staff_reply", "author": "Sam"})).result()
    # ... and the shopper types a question, which waits.
    before = t.bot_messages().count()
    t.say("what's your refund policy?")
    expect(t.log.locator(".sc-user.sc-pending")).to_have_text(re.compile("what's your refund policy"))

    t.context.set_offline(False)
    t.wait_connected(timeout=60_000)
    expect(t.page.locator(".sc-status")).to_have_text("")
    staff = t.log.locator(".sc-bot.sc-kind-staff_reply")  # missed while offline: from the history, both parts
    expect(staff).to_have_text([re.compile(r"^Sam\s*Hi, Sam from support here <b>!</b>$"),
                                re.compile(r"^Sam\s*It ships on Monday.$")])
    expect(t.log.locator(".sc-user.sc-pending")).to_have_count(0)
    t.wait_bot(before + 1, re.compile("refund", re.I))
    assert t.session_id() == session
    expect(staff).to_have_count(2)


IGNORED = "socket.io message for a session this socket has not joined: ignored"


def user_texts(servers, conversation: str) -> list[str]:
    url = f"{servers.rasa_url}/conversations/{conversation}/tracker?token={servers.rasa_token}"
    with urllib.request.urlopen(url, timeout=30) as response:
        events = json.loads(response.read())["events"] or []
    return [e.get("text") for e in events if e.get("event") == "user"]


def test_a_page_cannot_speak_in_someone_elses_conversation(tab, servers):
    shopper = tab()
    shopper.goto("/")
    shopper.open_chat()
    shopper.wait_connected()
    shopper.say("hello")
    shopper.wait_bot(0, re.compile(".+"))
    victim = shopper.session_id()

    stranger = tab()
    stranger.goto("/")
    stranger.wait_connected()
    refused = servers.log.read_text().count(IGNORED)
    confirmed = stranger.page.evaluate("""async ({server, victim}) => {
        const s = io(server, {path: "/socket.io", transports: ["websocket"], forceNew: true});
        window.forger = s;
        const confirmed = await new Promise((resolve) => {
            s.on("session_confirm", resolve);
            s.on("connect", () => s.emit("session_request", {session_id: "424242"}));  // a Telegram chat id
        });
        s.emit("user_uttered", {message: "cancel my order", session_id: victim});  // never joined
        s.emit("user_uttered", {message: "hi, I am chat 424242", session_id: "424242"});
        return confirmed;
    }""", {"server": servers.rasa_url, "victim": victim})
    # Rasa's socket.io guard says so for each message it turns away (bot/rasa_server.py, fix 4).
    wait_until(lambda: servers.log.read_text().count(IGNORED) >= refused + 2, 30, "both messages to be turned away")
    stranger.page.evaluate("window.forger.close()")
    assert re.fullmatch(r"[0-9a-f]{32}", confirmed) and confirmed not in (victim, "424242")
    assert user_texts(servers, victim) == ["hello"]
    assert user_texts(servers, "424242") == []
    # ... and the history of a conversation held elsewhere (REST here, Telegram alike) is not given out
    rest_sender = "0123456789abcdef0123456789abcdef"
    servers.say(rest_sender, "is the trail runner in stock?")
    with urllib.request.urlopen(f"{servers.web_url}/widget/history?session_id={rest_sender}", timeout=30) as r:
        assert json.loads(r.read()) == {"messages": []}
    with urllib.request.urlopen(f"{servers.web_url}/widget/history?session_id={victim}", timeout=30) as r:
        assert json.loads(r.read())["messages"]  # the widget's own conversation is
