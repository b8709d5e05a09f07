"""Every status and kind a row can have, defined once.

They are `StrEnum`s: stored in the database as their plain string values (the columns
are strings, so no migration depends on these classes), and a value read back from the
database compares equal to its member (`"active" == ReservationStatus.ACTIVE`).
"""
from __future__ import annotations

from enum import StrEnum


class PurchaseOrderStatus(StrEnum):
    """A purchase order, and each of its lines."""

    OPEN = "open"
    RECEIVED = "received"
    CANCELLED = "cancelled"


class PurchaseOrderSource(StrEnum):
    MANUAL = "manual"
    IMPORT = "import"  # mirrored from a catalog file's incoming_qty/incoming_eta; replaced by the next import
    SEED = "seed"


class OrderStatus(StrEnum):
    OPEN = "open"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


class OrderLineStatus(StrEnum):
    PENDING = "pending"
    PACKED = "packed"
    SHIPPED = "shipped"
    WAITING_STOCK = "waiting_stock"
    CANCELLED = "cancelled"


# What a customer may still cancel: everything not on its way yet.
CANCELLABLE_LINES = frozenset({OrderLineStatus.PENDING, OrderLineStatus.PACKED, OrderLineStatus.WAITING_STOCK})


class ReservationKind(StrEnum):
    PREORDER = "preorder"  # units on an open purchase-order line
    BACKORDER = "backorder"  # nothing ordered yet; served from the next units that arrive


class ReservationStatus(StrEnum):
    ACTIVE = "active"  # waiting for units
    ALLOCATED = "allocated"  # every unit arrived and is set aside for the customer
    CANCELLED = "cancelled"


# Reservations that still promise units to their customer.
LIVE_RESERVATIONS = (ReservationStatus.ACTIVE, ReservationStatus.ALLOCATED)


class SubscriptionStatus(StrEnum):
    """A restock ("tell me when it is back") subscription."""

    ACTIVE = "active"
    NOTIFIED = "notified"
    CANCELLED = "cancelled"


class HoldStatus(StrEnum):
    """Units held for an alerted customer."""

    ACTIVE = "active"
    EXPIRED = "expired"
    RELEASED = "released"
    USED = "used"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # given up


class MessageKind(StrEnum):
    """What an outbox message is about (the channel senders render it from its payload)."""

    RESTOCK_ALERT = "restock_alert"
    DELAY_NOTICE = "delay_notice"
    STAFF_REPLY = "staff_reply"
    REFUND_DECISION = "refund_decision"


# Messages that exist only because the shopper asked to be told: stopped by /stop and by a
# block. Notices about their own pre-orders and orders are service messages and stay.
UNSOLICITED_KINDS = (MessageKind.RESTOCK_ALERT,)


class TicketStatus(StrEnum):
    OPEN = "open"
    APPROVED = "approved"  # a refund approval, decided
    REJECTED = "rejected"
    CLOSED = "closed"


class TicketReason(StrEnum):
    CUSTOMER_REQUEST = "customer_request"
    REFUND_APPROVAL = "refund_approval"
    ORDER_PROBLEM = "order_problem"
    OTHER = "other"


class LedgerKind(StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"
    STORE_CREDIT = "store_credit"
    REFUND_PENDING = "refund_pending"
    REFUND_APPROVED = "refund_approved"
    REFUND_REJECTED = "refund_rejected"


class Channel(StrEnum):
    """Chat channels the assistant knows by name (Rasa's input channel names)."""

    TELEGRAM = "telegram"
    WEB = "socketio"  # the website widget
    REST = "rest"
    EMAIL = "email"  # no sender yet: messages for it wait in the outbox


# Channels whose user ids the channel itself vouches for. A REST sender id is chosen by the
# client, so it identifies a conversation but proves nothing about who owns an order.
TRUSTED_IDENTITY_CHANNELS = frozenset({Channel.TELEGRAM})
