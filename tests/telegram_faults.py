"""Queued alerts out to Telegram through every fault at once, checked end to end: 429s, 5xx
errors, chats that blocked the bot, and a restart of the dispatcher in the middle.

One scenario, two sizes: `make test` runs a small one on both databases
(tests/test_telegram_delivery.py), `make bench` the 1,000-message one
(bench/telegram_bench.py). python-telegram-bot talks to tests/fake_telegram.py; the
dispatcher runs as its own process (`python -m bot.telegram.dispatch`), as in production.
"""
from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from catalog.clock import utcnow
from catalog.db.orm import ChannelIdentity, OutboxMessage, RestockSubscription
from catalog.domain.statuses import Channel, MessageKind, OutboxStatus, SubscriptionStatus
from catalog.importing.reader import RawRow
from catalog.services.customers import customer_for_identity
from catalog.services.importing import import_raw_rows
from catalog.services.outbox import enqueue_many, enqueue_values
from catalog.uow import UnitOfWork
from catalog.wording.notices import notice_text
from tests.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
FIRST_CHAT = 700_001


@dataclass(frozen=True)
class Outcome:
    delivered: int
    seconds: float


def a_product(url: str, sku: str = "TG-1") -> int:
    row = {"sku": sku, "title": "Trail Runner [2.0] - size 42_EU", "description": "", "category": "Shoes > Running",
           "price": "89.99", "on_hand": "0"}
    import_raw_rows(UnitOfWork(url), [RawRow(2, row)], reference="t")
    with UnitOfWork(url) as uow:
        return uow.catalog.product_id_for_sku(sku)


def queue_alerts(url: str, chats: list[int], total: int, start: int = 0) -> list[str]:
    """`total` restock alerts spread over `chats`, numbered; returns what each one says
    (Markdown's reserved characters included), in queue order."""
    now = utcnow()
    rows, texts = [], []
    for n in range(start, start + total):
        chat = chats[n % len(chats)]
        payload = {"sku": "TG-1", "product": f"Trail Runner [2.0] #{n}!", "size": "42_EU",
                   "held_until": "2030-01-02T15:30", "subscription_id": n}
        rows.append(enqueue_values(None, Channel.TELEGRAM, str(chat), MessageKind.RESTOCK_ALERT, payload, f"t:{n}", now))
        texts.append(notice_text(MessageKind.RESTOCK_ALERT, payload))
    with UnitOfWork(url) as uow:
        enqueue_many(uow.session, rows)
        uow.commit()
    return texts


def pending(url: str) -> int:
    with UnitOfWork(url) as uow:
        return uow.session.execute(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.channel == Channel.TELEGRAM, OutboxMessage.status == OutboxStatus.PENDING)).scalar_one()


def start_dispatcher(url: str, fake: FakeTelegram, log: Path) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=url, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_BASE_URL=fake.base_url,
               PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "bot.telegram.dispatch"], cwd=ROOT, env=env,
                            stdout=log.open("a"), stderr=subprocess.STDOUT)


def deliver_through_faults(url: str, workdir: Path, messages: int, chats: int, blocked: int = 3) -> Outcome:
    """Queue `messages` alerts to `chats` chats (the first `blocked` of which blocked the bot
    and had restock alerts), deliver them through injected faults and a restart, and check
    that every message reached its chat once, in order, within Telegram's limits; that the
    blocked chats are marked unreachable and their alerts ended. Raises AssertionError."""
    chat_ids = list(range(FIRST_CHAT, FIRST_CHAT + chats))
    blocked_ids = chat_ids[:blocked]
    product = a_product(url)
    for chat in blocked_ids:  # known shoppers with alerts, who then block the bot
        customer = customer_for_identity(UnitOfWork(url), Channel.TELEGRAM, str(chat))
        with UnitOfWork(url) as uow:
            uow.session.add(RestockSubscription(customer_id=customer, product_id=product, channel=Channel.TELEGRAM,
                                                recipient=str(chat), status=SubscriptionStatus.ACTIVE,
                                                created_at=utcnow()))
            uow.commit()
    texts = queue_alerts(url, chat_ids, messages)
    expected = [t for n, t in enumerate(texts) if chat_ids[n % chats] not in blocked_ids]
    log = workdir / "dispatch.log"
    started = time.perf_counter()
    with FakeTelegram() as fake:
        fake.blocked_chats.update(blocked_ids)
        fake.inject_429(times=3, retry_after=1)
        proc = start_dispatcher(url, fake, log)
        try:
            fake.wait_for(lambda: len(fake.sent) >= messages // 4, timeout=120, what="a quarter delivered")
            fake.inject_5xx(times=4, status=502)
            fake.inject_429(times=2, retry_after=1)
            fake.wait_for(lambda: len(fake.sent) >= messages * 2 // 5, timeout=120, what="two fifths delivered")
            proc.send_signal(signal.SIGTERM)  # a restart in the middle
            assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]
            assert 0 < pending(url) < messages
            proc = start_dispatcher(url, fake, log)
            fake.wait_for(lambda: pending(url) == 0, timeout=max(120, messages / 10), what="every delivery")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        seconds = time.perf_counter() - started

        delivered = [s.text for s in fake.sent]
        assert collections.Counter(delivered) == collections.Counter(expected)  # each once, none lost
        assert len(delivered) == len(set(delivered)) == len(expected)
        for chat in chat_ids[blocked:blocked + 20]:  # per-chat order kept
            seq = [int(s.text.split("#")[1].split("!")[0]) for s in fake.messages_to(chat)]
            assert seq == sorted(seq) and seq
        assert fake.violations == []  # never over 30/s in all nor 1/s per chat
        kinds = collections.Counter(kind for _, _, kind in fake.rejected)
        assert kinds["429"] == 5 and kinds["5xx"] == 4 and kinds["403"] == blocked  # the faults were really met
        assert all(s.params.get("parse_mode") == "MarkdownV2" for s in fake.sent)

    with UnitOfWork(url) as uow:
        sent_rows = uow.session.execute(select(OutboxMessage).where(
            OutboxMessage.status == OutboxStatus.SENT)).scalars().all()
        assert len(sent_rows) == len(expected) and all(r.external_id for r in sent_rows)  # the delivery record
        unreachable = uow.session.execute(select(ChannelIdentity.external_id).where(
            ChannelIdentity.unreachable_at.is_not(None))).scalars().all()
        assert sorted(unreachable) == sorted(str(c) for c in blocked_ids)
        assert not uow.session.execute(select(RestockSubscription).where(
            RestockSubscription.status == SubscriptionStatus.ACTIVE)).scalars().all()  # their alerts stopped
    return Outcome(len(delivered), seconds)
