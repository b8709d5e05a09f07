"""Transactional outbox: messages are rows written with the change they report, sent later.

`enqueue_many` runs inside the caller's transaction, so a restock alert exists exactly
when its hold exists. A message is its `kind` and `payload` (the facts: which product,
which date); each channel's sender words it with catalog.wording.notices. Only text a
person wrote (a staff reply) travels as `body`. `dispatch_once` claims a batch atomically (PostgreSQL: SELECT ... FOR
UPDATE SKIP LOCKED; SQLite: a conditional UPDATE under BEGIN IMMEDIATE), sends outside
the transaction, then marks each message sent only if this worker still holds the claim.
Two dispatchers therefore never send one message twice while claims are live; a worker
that dies mid-batch leaves claims that expire after `lease` and are retried
(at-least-once after a crash, exactly-once otherwise).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from catalog.db.orm import ChannelIdentity, OutboxMessage
from catalog.clock import utcnow
from catalog.domain.statuses import OutboxStatus
from catalog.uow import UnitOfWork

MAX_ATTEMPTS = 5
DEFAULT_LEASE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class OutgoingMessage:
    id: int
    customer_id: int | None
    channel: str
    recipient: str
    kind: str
    body: str  # words a person wrote (staff replies); empty for notices worded from `payload`
    payload: dict[str, Any]
    attempts: int


class Dispatcher(Protocol):
    """A channel adapter (Telegram, web widget, log). Raise to signal a failed send."""

    def send(self, message: OutgoingMessage) -> None: ...


def enqueue_values(
    customer_id: int | None, channel: str, recipient: str, kind: str, payload: dict[str, Any],
    dedupe_key: str, now: dt.datetime, body: str = "",
) -> dict[str, Any]:
    return dict(customer_id=customer_id, channel=channel, recipient=recipient, kind=kind, body=body,
                payload=payload, dedupe_key=dedupe_key[:200], status=OutboxStatus.PENDING, attempts=0,
                available_at=now, created_at=now)


def enqueue_many(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert messages; a dedupe_key seen before is skipped (ON CONFLICT DO NOTHING)."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - only the two supported engines
        raise RuntimeError(f"unsupported database {dialect}")
    stmt = (dialect_insert(OutboxMessage).on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(OutboxMessage.id))  # only rows really inserted come back: the honest count
    total = 0
    for start in range(0, len(rows), 2000):
        total += len(session.execute(stmt, rows[start:start + 2000]).all())
    return total


def queue_message(uow: UnitOfWork, channel: str, recipient: str, kind: str, body: str, payload: dict[str, Any],
                  dedupe_key: str) -> bool:
    """Queue a message a person wrote for a chat (e.g. a staff reply to Telegram), in order
    with that chat's other messages. False when the same key was queued before."""
    channel, recipient = channel[:32], recipient[:200]
    with uow:
        customer_id = uow.session.execute(select(ChannelIdentity.customer_id).where(
            ChannelIdentity.channel == channel, ChannelIdentity.external_id == recipient)).scalar()
        queued = enqueue_many(uow.session, [enqueue_values(customer_id, channel, recipient, kind, payload, dedupe_key,
                                                           utcnow(), body=body)])
        uow.commit()
    return queued > 0


@dataclass
class DispatchResult:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def dispatch_once(
    uow: UnitOfWork, dispatcher: Dispatcher, worker_id: str, batch: int = 100,
    now: dt.datetime | None = None, lease: dt.timedelta = DEFAULT_LEASE,
    channels: Collection[str] | None = None, exclude: Collection[str] = (),
) -> DispatchResult:
    """Claim up to `batch` due messages (of the given channels, or all but `exclude`),
    send them, record the outcome. Returns counts."""
    now = now or utcnow()
    result = DispatchResult()
    messages = claim(uow, worker_id, batch, now, lease, channels, exclude)
    result.claimed = len(messages)
    for message in messages:
        try:
            dispatcher.send(message)
        except Exception as exc:  # a channel failure must not lose the message
            result.failed += 1
            result.errors.append(f"{message.id}: {exc}")
            record_failure(uow, message, worker_id, str(exc), now)
            continue
        if mark_sent(uow, message.id, worker_id):
            result.sent += 1
    return result


def claim(uow: UnitOfWork, worker_id: str, batch: int, now: dt.datetime, lease: dt.timedelta = DEFAULT_LEASE,
          channels: Collection[str] | None = None, exclude: Collection[str] = ()) -> list[OutgoingMessage]:
    """Take up to `batch` due messages for this worker, oldest first, until `lease` runs out."""
    due = [OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.available_at <= now,
           or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now)]
    if channels is not None:
        due.append(OutboxMessage.channel.in_(list(channels)))
    if exclude:
        due.append(OutboxMessage.channel.not_in(list(exclude)))
    with uow:
        uow.begin_write()
        query = select(OutboxMessage.id).where(*due).order_by(OutboxMessage.id).limit(batch)
        if uow.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = list(uow.session.execute(query).scalars())
        if not ids:
            return []
        # Conditional claim: only rows still unclaimed are taken, whatever happened since the SELECT.
        uow.session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids), *due)
            .values(claimed_by=worker_id, claimed_until=now + lease)
            .execution_options(synchronize_session=False)
        )
        rows = uow.session.execute(
            select(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == worker_id,
                                        OutboxMessage.claimed_until == now + lease)
            .order_by(OutboxMessage.id)
        ).scalars().all()
        claimed = [OutgoingMessage(m.id, m.customer_id, m.channel, m.recipient, m.kind, m.body, dict(m.payload or {}),
                                   m.attempts) for m in rows]
        uow.commit()
    return claimed


def mark_sent(uow: UnitOfWork, message_id: int, worker_id: str, external_id: str | None = None) -> bool:
    """Record the delivery (with the channel's id for it) at once, so a restart skips it."""
    with uow:
        done = uow.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == worker_id,
                                        OutboxMessage.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.SENT, sent_at=utcnow(), claimed_until=None, external_id=external_id)
            .execution_options(synchronize_session=False)
        ).rowcount
        uow.commit()
    return bool(done)


def record_failure(uow: UnitOfWork, message: OutgoingMessage, worker_id: str, error: str, now: dt.datetime,
                   permanent: bool = False) -> dt.datetime:
    """A failed send: retried later with growing delays, given up after MAX_ATTEMPTS (or at
    once when `permanent`, e.g. the chat no longer exists). Returns when it is due again."""
    attempts = MAX_ATTEMPTS if permanent else message.attempts + 1
    due = now + dt.timedelta(seconds=30 * 2 ** attempts)
    with uow:
        uow.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == message.id, OutboxMessage.claimed_by == worker_id)
            .values(attempts=attempts, last_error=error[:2000], claimed_by=None, claimed_until=None,
                    status=OutboxStatus.FAILED if attempts >= MAX_ATTEMPTS else OutboxStatus.PENDING,
                    available_at=due)
            .execution_options(synchronize_session=False)
        )
        uow.commit()
    return due


def release(uow: UnitOfWork, message_ids: Collection[int], worker_id: str,
            available_at: dt.datetime | None = None) -> int:
    """Give back claimed messages not sent (a dispatcher stopping, or an earlier message to
    the same chat failing, which they must not overtake): due again at once or at `available_at`."""
    if not message_ids:
        return 0
    values: dict[str, Any] = dict(claimed_by=None, claimed_until=None)
    if available_at is not None:
        values["available_at"] = available_at
    with uow:
        n = uow.session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(list(message_ids)), OutboxMessage.claimed_by == worker_id,
                                        OutboxMessage.status == OutboxStatus.PENDING)
            .values(**values).execution_options(synchronize_session=False)
        ).rowcount
        uow.commit()
    return n


def pending_count(uow: UnitOfWork) -> int:
    with uow:
        return int(uow.session.execute(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status == OutboxStatus.PENDING)).scalar_one())
