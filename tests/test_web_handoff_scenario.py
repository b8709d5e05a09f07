"""The whole web story in a real browser against the real servers: a shopper in the
widget asks about an out-of-stock product, picks a substitute, asks for a person; a staff
member signs in to the console, sees the conversation in the queue, takes it over and
replies; the shopper sees the reply in the widget; staff hand back; the bot answers the
shopper's next message."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from catalog.wording.substitutes import button_title
from tests.conftest import ARTIFACTS
from tests.demo import in_stock_suggestion, out_of_stock_incoming
from tests.test_console import browser_sign_in, tracker
from tests.test_web_widget import Page


def test_shopper_substitute_then_a_person_staff_take_over_reply_and_hand_back(browser, stack):
    servers = stack
    shopper = Page(browser, servers, viewport={"width": 1280, "height": 800})
    staff_context = browser.new_context(viewport={"width": 1360, "height": 900})
    staff = staff_context.new_page()
    staff.set_default_timeout(30_000)
    dialogs: list[str] = []
    staff.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        # The shopper: an out-of-stock product, a substitute picked from the buttons.
        title, stock, _ = out_of_stock_incoming(servers.database_url)
        shopper.goto(f"/products/{stock.sku}")
        shopper.open_chat()
        shopper.wait_connected()
        shopper.say(f"is {stock.sku} in stock?")
        shopper.wait_bot(0, "out of stock")
        pick = in_stock_suggestion(servers.database_url, stock.sku)
        suggestions = shopper.log.get_by_role("group", name="Suggested replies").last
        before = shopper.bot_messages().count()
        suggestions.get_by_role("button", name=button_title(pick), exact=True).click()
        expect(shopper.wait_bot(before, re.compile(r"in stock|left", re.I))).to_contain_text(pick.title)

        # ... then asks for a person.
        before = shopper.bot_messages().count()
        shopper.say("I'd like to talk to a person please")
        handoff = shopper.wait_bot(before, re.compile(r"ticket #\d+"))
        ticket = int(re.search(r"ticket #(\d+)", handoff.inner_text()).group(1))
        session = shopper.session_id()

        # Staff: the conversation is in the queue; take it over and reply.
        browser_sign_in(staff, servers.web_url)
        row = staff.locator(f'#queue-rows tr[data-ticket="{ticket}"]')
        row.wait_for()
        assert session in row.inner_text()
        row.locator("a").click()
        staff.wait_for_url(f"**/console/tickets/{ticket}")
        transcript = staff.locator("#transcript")
        expect(transcript).to_contain_text(f"is {stock.sku} in stock?")
        expect(transcript).to_contain_text("talk to a person")
        staff.click("#take-over")
        staff.wait_for_selector("#send-reply")
        assert tracker(servers, session)["paused"] is True

        reply = "Hi, this is Alice from the team. The one you picked ships today."
        staff.fill("#reply-text", reply)
        staff.click("#send-reply")
        staff.wait_for_selector("text=Message sent.")
        ARTIFACTS.mkdir(exist_ok=True)
        staff.screenshot(path=str(ARTIFACTS / "story-console.png"), full_page=True)

        # The shopper sees it in the open widget.
        shown = shopper.wait_bot(before, reply, timeout=30_000)
        expect(shown).to_be_visible()
        # While staff have it, the bot does not answer.
        before = shopper.bot_messages().count()
        shopper.say("great, thanks Alice")
        expect(transcript).to_contain_text("great, thanks Alice")  # Rasa has recorded (and handled) it
        events = tracker(servers, session)["events"]
        said = max(i for i, e in enumerate(events) if e["event"] == "user" and e.get("text") == "great, thanks Alice")
        assert not [e for e in events[said:] if e["event"] == "bot"]  # nothing was said back
        assert shopper.bot_messages().count() == before
        shopper.page.screenshot(path=str(ARTIFACTS / "story-widget.png"))

        # Hand back: the bot answers the next message.
        staff.click("#hand-back")
        staff.wait_for_selector("text=Handed back")
        assert tracker(servers, session)["paused"] is False
        before = shopper.bot_messages().count()
        shopper.say(f"is {pick.sku} in stock?")
        expect(shopper.wait_bot(before, re.compile(r"in stock|left", re.I))).to_contain_text(pick.title)
        assert dialogs == []
    finally:
        staff_context.close()
        shopper.close()
