"""Who is chatting: a channel identity (Telegram user, widget session) mapped to a customer."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from catalog.db.orm import ChannelIdentity, Customer
from catalog.uow import UnitOfWork


def customer_for_identity(uow: UnitOfWork, channel: str, external_id: str, name: str = "") -> int:
    """The customer behind a chat identity, created on first contact (no email needed to reserve)."""
    channel, external_id = channel.strip()[:32], external_id.strip()[:200]
    if not channel or not external_id:
        raise ValueError("a channel identity needs a channel and an id")
    for _ in range(2):  # a second try covers two first messages racing to create the customer
        with uow:
            found = uow.session.execute(select(ChannelIdentity.customer_id).where(
                ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id)).scalar_one_or_none()
            if found is not None:
                return found
            customer = Customer(name=name[:200])
            uow.session.add(customer)
            uow.session.flush()
            uow.session.add(ChannelIdentity(customer_id=customer.id, channel=channel, external_id=external_id))
            try:
                uow.commit()
                return customer.id
            except IntegrityError:
                uow.rollback()
    raise RuntimeError("could not register the chat identity")
