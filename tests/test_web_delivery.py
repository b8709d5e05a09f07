"""Queued messages out to website chats: once each, in order per conversation, through a
restart of the sender, with Rasa unreachable or refusing, against the real Rasa server.

The sender appends each message to the conversation through Rasa's HTTP API; what Rasa
recorded is read back from the same API (`GET /conversations/{id}/tracker`), so the
checks see exactly what a widget would get. The outbox here is a database of its own, so
the sender started by scripts/serve.sh (which serves a different one) stays out of it.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bot.rasa_api import RasaError
from bot.web.delivery import WebDelivery
from bot.web.messages import bot_events_as_messages, socket_messages
from bot.web.settings import WebSettings
from catalog.clock import utcnow
from catalog.db.orm import OutboxMessage
from catalog.domain.statuses import MessageKind
from catalog.services.outbox import enqueue_many, enqueue_values
from catalog.uow import UnitOfWork
from catalog.wording.notices import notice_text
from tests.servers import ROOT, free_port, wait_until


@pytest.fixture
def servers(stack):
    return stack


def settings_for(servers, **changes) -> WebSettings:
    values = dict(rasa_url=servers.rasa_url, rasa_token=servers.rasa_token)
    values.update(changes)
    return WebSettings(**values)


def queue(url: str, sessions: list[str], total: int, start: int = 0) -> dict[str, list[str]]:
    """`total` alerts spread over `sessions`; returns each session's texts in queue order (as
    the sender words them: catalog.wording.notices)."""
    now = utcnow()
    rows, bodies = [], {s: [] for s in sessions}
    for n in range(start, start + total):
        session = sessions[n % len(sessions)]
        payload = {"sku": "TR-1", "product": f"Trail Runner <42> & more #{n}", "color": None, "size": "42",
                   "held_until": "2030-01-02T15:30", "subscription_id": n}
        rows.append(enqueue_values(None, "socketio", session, MessageKind.RESTOCK_ALERT, payload, f"w:{n}", now))
        bodies[session].append(f"Good news: Trail Runner <42> & more #{n} (size 42) is back in stock. "
                               "One is held for you until 15:30 UTC on 2 Jan.")
    with UnitOfWork(url) as uow:
        enqueue_many(uow.session, rows)
        uow.commit()
    return bodies


def outbox(url: str) -> list[OutboxMessage]:
    with UnitOfWork(url) as uow:
        rows = uow.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()
        uow.session.expunge_all()
    return rows


def pending(url: str) -> int:
    with UnitOfWork(url) as uow:
        return uow.session.execute(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status == "pending")).scalar_one()


def recorded(servers, session: str) -> list[dict]:
    """The bot events Rasa holds for a conversation."""
    url = f"{servers.rasa_url}/conversations/{session}/tracker?token={servers.rasa_token}"
    with urllib.request.urlopen(url, timeout=30) as response:
        events = json.loads(response.read())["events"] or []
    return [e for e in events if e.get("event") == "bot"]


def start_sender(url: str, servers, log: Path) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=url, RASA_URL=servers.rasa_url, RASA_TOKEN=servers.rasa_token,
               PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "bot.web.dispatch", "--batch", "40"], cwd=ROOT, env=env,
                            stdout=log.open("a"), stderr=subprocess.STDOUT)


# --------------------------------------------------------------------------- the wire format

def test_a_bot_message_becomes_the_widget_events_live_and_from_history_alike():
    message = {"text": "The Trail Runner is out.\n\nInstead, you could get:", "timestamp": 1764288000.25,
               "buttons": [{"title": "Apex <b>", "payload": '/choose_substitute{"sku": "A-1"}'}],
               "custom": {"type": "product", "sku": "TR-1", "stock": "Out of stock"}, "image": None,
               "attachment": None, "kind": "restock_alert", "outbox_id": 7, "utter_action": "x"}
    live = socket_messages(message)
    assert live == [
        {"text": "The Trail Runner is out.", "timestamp": 1764288000.25, "kind": "restock_alert", "outbox_id": 7},
        {"text": "Instead, you could get:", "timestamp": 1764288000.25, "kind": "restock_alert", "outbox_id": 7,
         "quick_replies": [{"content_type": "text", "title": "Apex <b>", "payload": '/choose_substitute{"sku": "A-1"}'}]},
        {"custom": {"type": "product", "sku": "TR-1", "stock": "Out of stock"}, "timestamp": 1764288000.25,
         "kind": "restock_alert", "outbox_id": 7},
    ]
    event = {"event": "bot", "timestamp": 1764288000.25, "text": message["text"],
             "data": {"buttons": message["buttons"], "custom": message["custom"], "image": None},
             "metadata": {"kind": "restock_alert", "outbox_id": 7}}
    older = {"event": "bot", "timestamp": 5.0, "text": "old", "data": {}, "metadata": {}}
    user = {"event": "user", "timestamp": 1764288001.0, "text": "hi"}
    assert bot_events_as_messages([older, event, user], since=5.0) == live
    assert socket_messages({"text": "", "image": "https://x/y.jpg", "timestamp": 1}) == [
        {"attachment": {"type": "image", "payload": {"src": "https://x/y.jpg"}}, "timestamp": 1.0}]


# --------------------------------------------------------------------------- delivery

def test_queued_messages_reach_each_conversation_once_in_order_through_a_restart(servers, sqlite_url, tmp_path):
    sessions = [uuid.uuid4().hex for _ in range(12)]
    bodies = queue(sqlite_url, sessions, 300)
    log = tmp_path / "dispatch.log"
    proc = start_sender(sqlite_url, servers, log)
    try:
        wait_until(lambda: pending(sqlite_url) <= 260, 120, "40 deliveries")
        proc.send_signal(signal.SIGTERM)  # a restart in the middle
        assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]
        assert 0 < pending(sqlite_url) < 300
        assert all(m.claimed_by is None for m in outbox(sqlite_url) if m.status == "pending")  # claims given back
        proc = start_sender(sqlite_url, servers, log)
        wait_until(lambda: pending(sqlite_url) == 0, 180, "every delivery")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)

    rows = outbox(sqlite_url)
    assert [r.status for r in rows] == ["sent"] * 300 and all(r.attempts == 0 for r in rows)
    for session in sessions:
        events = recorded(servers, session)
        assert [e["text"] for e in events] == bodies[session]  # each once, in the order queued
        ids = [r.id for r in rows if r.recipient == session]
        assert [(e["metadata"]["kind"], e["metadata"]["outbox_id"]) for e in events] == [("restock_alert", i) for i in ids]


def test_rasa_unreachable_or_refusing_keeps_messages_waiting_in_order(servers, sqlite_url):
    good, other = uuid.uuid4().hex, uuid.uuid4().hex
    bodies = queue(sqlite_url, [good, other], 6)
    queue(sqlite_url, ["not a session id/../x"], 1, start=100)

    def deliver(settings: WebSettings):
        delivery = WebDelivery(settings, lambda: UnitOfWork(sqlite_url), f"test-{uuid.uuid4().hex[:6]}",
                               retry_pause=0.01)
        async def once():
            try:
                return await delivery.deliver_once()
            finally:
                await delivery.aclose()
        return asyncio.run(once())

    # Rasa down: each conversation's first message is retried, then waits; the rest wait behind it.
    stats = deliver(settings_for(servers, rasa_url=f"http://127.0.0.1:{free_port()}"))
    assert (stats.claimed, stats.sent, stats.deferred, stats.given_up) == (7, 0, 6, 1)
    rows = {notice_text(r.kind, r.payload, r.body): r for r in outbox(sqlite_url)}
    bad = next(r for r in rows.values() if r.recipient.startswith("not a"))
    assert bad.status == "failed" and "not a web session id" in bad.last_error  # never deliverable: given up
    for session in (good, other):
        first, *rest = [rows[b] for b in bodies[session]]
        assert first.status == "pending" and first.attempts == 1 and "unreachable" in first.last_error
        assert all(r.status == "pending" and r.attempts == 0 and r.available_at > utcnow() for r in rest)
        assert all(r.claimed_by is None for r in [first, *rest])

    def due_now():
        with UnitOfWork(sqlite_url) as uow:
            uow.session.execute(update(OutboxMessage).values(available_at=utcnow()))
            uow.commit()

    # A wrong token: Rasa refuses (401), which a fixed configuration cures: waits again.
    due_now()
    stats = deliver(settings_for(servers, rasa_token="wrong"))
    assert (stats.sent, stats.deferred) == (0, 6)
    assert recorded(servers, good) == []
    assert all("401" in r.last_error for r in outbox(sqlite_url) if r.attempts == 2)

    # Rasa back: everything goes, in order.
    due_now()
    stats = deliver(settings_for(servers))
    assert (stats.sent, stats.deferred) == (6, 0)
    for session in (good, other):
        assert [e["text"] for e in recorded(servers, session)] == bodies[session]


def test_a_staff_reply_is_recorded_in_the_conversation(servers):
    session = uuid.uuid4().hex
    servers.say(session, "hello")  # an existing conversation (REST here; the widget's are socket.io)
    asyncio.run(settings_for(servers).rasa_api().send_to_widget(session, "Sam here: it ships Monday.",
                                                                {"kind": "staff_reply", "author": "Sam"}))
    last = recorded(servers, session)[-1]
    assert last["text"] == "Sam here: it ships Monday."
    assert {k: last["metadata"].get(k) for k in ("kind", "author")} == {"kind": "staff_reply", "author": "Sam"}
    with pytest.raises(RasaError) as refused:
        asyncio.run(settings_for(servers, rasa_token="wrong").rasa_api().send_to_widget(session, "x", {}))
    assert refused.value.status == 401 and refused.value.transient
