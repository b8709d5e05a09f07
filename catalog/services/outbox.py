"""Transactional outbox: messages are rows written with the change they report, sent later.

`enqueue` runs inside the caller's transaction, so a restock alert exists exactly when
its hold exists. `dispatch_once` claims a batch atomically (PostgreSQL: SELECT ... FOR
UPDATE SKIP LOCKED; SQLite: a conditional UPDATE under BEGIN IMMEDIATE), sends outside
the transaction, then marks each message sent only if this worker still holds the claim.
Two dispatchers therefore never send one message twice while claims are live; a worker
that dies mid-batch leaves claims that expire after `lease` and are retried
(at-least-once after a crash, exactly-once otherwise).
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from catalog.db.orm import OutboxMessage, utcnow
from catalog.uow import UnitOfWork

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
DEFAULT_LEASE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class OutgoingMessage:
    id: int
    customer_id: int | None
    channel: str
    recipient: str
    kind: str
    body: str
    payload: dict[str, Any]
    attempts: int


class Dispatcher(Protocol):
    """A channel adapter (Telegram, web widget, log). Raise to signal a failed send."""

    def send(self, message: OutgoingMessage) -> None: ...


class LogDispatcher:
    """Writes every message to the log: the stand-in until real channels plug in."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or log

    def send(self, message: OutgoingMessage) -> None:
        self.logger.info("[%s -> %s] %s: %s", message.channel, message.recipient, message.kind, message.body)


def enqueue_values(
    customer_id: int | None, channel: str, recipient: str, kind: str, body: str, payload: dict[str, Any],
    dedupe_key: str, now: dt.datetime,
) -> dict[str, Any]:
    return dict(customer_id=customer_id, channel=channel, recipient=recipient, kind=kind, body=body,
                payload=payload, dedupe_key=dedupe_key[:200], status="pending", attempts=0, available_at=now,
                created_at=now)


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


def enqueue(session: Session, **values: Any) -> int:
    values.setdefault("now", utcnow())
    return enqueue_many(session, [enqueue_values(**values)])


@dataclass
class DispatchResult:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def dispatch_once(
    uow: UnitOfWork, dispatcher: Dispatcher, worker_id: str, batch: int = 100,
    now: dt.datetime | None = None, lease: dt.timedelta = DEFAULT_LEASE,
) -> DispatchResult:
    """Claim up to `batch` due messages, send them, record the outcome. Returns counts."""
    now = now or utcnow()
    result = DispatchResult()
    messages = _claim(uow, worker_id, batch, now, lease)
    result.claimed = len(messages)
    for message in messages:
        try:
            dispatcher.send(message)
        except Exception as exc:  # a channel failure must not lose the message
            result.failed += 1
            result.errors.append(f"{message.id}: {exc}")
            _record_failure(uow, message, worker_id, str(exc), now)
            continue
        if _mark_sent(uow, message.id, worker_id):
            result.sent += 1
    return result


def _claim(uow: UnitOfWork, worker_id: str, batch: int, now: dt.datetime, lease: dt.timedelta) -> list[OutgoingMessage]:
    due = (OutboxMessage.status == "pending", OutboxMessage.available_at <= now,
           or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))
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


def _mark_sent(uow: UnitOfWork, message_id: int, worker_id: str) -> bool:
    with uow:
        done = uow.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == worker_id,
                                        OutboxMessage.status == "pending")
            .values(status="sent", sent_at=utcnow(), claimed_until=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        uow.commit()
    return bool(done)


def _record_failure(uow: UnitOfWork, message: OutgoingMessage, worker_id: str, error: str, now: dt.datetime) -> None:
    attempts = message.attempts + 1
    with uow:
        uow.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == message.id, OutboxMessage.claimed_by == worker_id)
            .values(attempts=attempts, last_error=error[:2000], claimed_by=None, claimed_until=None,
                    status="failed" if attempts >= MAX_ATTEMPTS else "pending",
                    available_at=now + dt.timedelta(seconds=30 * 2 ** attempts))
            .execution_options(synchronize_session=False)
        )
        uow.commit()


def pending_count(uow: UnitOfWork) -> int:
    from sqlalchemy import func

    with uow:
        return int(uow.session.execute(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")).scalar_one())
