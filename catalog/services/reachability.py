"""Whether a chat can still be written to, and a shopper's "stop" for unsolicited messages.

A chat that blocked the bot (Telegram answers 403) is marked unreachable: its active
restock alerts end and its queued alerts are given up, since every further attempt
would fail the same way and count against the bot's rate limits. Writing to the bot
again (/start) makes the chat reachable again; alerts stay off until asked for again.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update

from catalog.clock import utcnow
from catalog.db.orm import ChannelIdentity, OutboxMessage, RestockSubscription
from catalog.domain.statuses import UNSOLICITED_KINDS, OutboxStatus
from catalog.services.alerts import cancel_subscriptions
from catalog.uow import UnitOfWork

BLOCKED = "unreachable: the chat blocked the bot"


@dataclass(frozen=True)
class Stopped:
    alerts_ended: int
    messages_dropped: int


def stop_alerts(uow: UnitOfWork, channel: str, recipient: str, reason: str = "stopped by the customer") -> Stopped:
    """End this chat's back-in-stock alerts and drop the unsolicited messages queued for it."""
    with uow:
        uow.begin_write()
        ended = cancel_subscriptions(uow, RestockSubscription.channel == channel,
                                     RestockSubscription.recipient == recipient)
        dropped = uow.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.channel == channel, OutboxMessage.recipient == recipient,
                   OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.kind.in_(UNSOLICITED_KINDS))
            .values(status=OutboxStatus.FAILED, last_error=reason, claimed_by=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        uow.commit()
    return Stopped(ended, dropped)


def mark_unreachable(uow: UnitOfWork, channel: str, recipient: str) -> Stopped:
    """The chat blocked us: nothing more is sent to it until it writes again."""
    with uow:
        uow.begin_write()
        uow.session.execute(
            update(ChannelIdentity).where(ChannelIdentity.channel == channel, ChannelIdentity.external_id == recipient)
            .values(unreachable_at=utcnow()).execution_options(synchronize_session=False))
        dropped = uow.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.channel == channel, OutboxMessage.recipient == recipient,
                   OutboxMessage.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.FAILED, last_error=BLOCKED, claimed_by=None,
                    claimed_until=None).execution_options(synchronize_session=False)
        ).rowcount
        uow.commit()
    stopped = stop_alerts(uow, channel, recipient, BLOCKED)
    return Stopped(stopped.alerts_ended, dropped + stopped.messages_dropped)


def mark_reachable(uow: UnitOfWork, channel: str, recipient: str) -> None:
    with uow:
        uow.session.execute(
            update(ChannelIdentity).where(ChannelIdentity.channel == channel, ChannelIdentity.external_id == recipient,
                                          ChannelIdentity.unreachable_at.is_not(None))
            .values(unreachable_at=None).execution_options(synchronize_session=False))
        uow.commit()
