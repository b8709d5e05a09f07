"""Typed SQLAlchemy models of the inventory database.

The tables follow the shape of mature commerce backends (Saleor's warehouse model):
stock is held per variant *and* location, quantities that can be derived (available
to sell) are never stored, and every change of physical stock is written to an
append-only movement log so that any number can be explained afterwards.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from catalog.clock import utcnow
from catalog.domain.statuses import (
    HoldStatus,
    OrderLineStatus,
    OrderStatus,
    OutboxStatus,
    PurchaseOrderSource,
    PurchaseOrderStatus,
    ReservationStatus,
    SubscriptionStatus,
    TicketStatus,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(12, 2)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Location(Base):
    """A place that holds stock (warehouse, shop floor)."""

    __tablename__ = "locations"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Supplier(Base):
    __tablename__ = "suppliers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    lead_time_days: Mapped[int | None] = mapped_column(Integer)
    reliability: Mapped[Decimal | None] = mapped_column(Numeric(4, 3))


class Product(Base):
    """A product model as a shopper names it ("Ridgeline Trail Runner").

    Rows of a catalog file that share title, brand and category are variants of one
    product; `group_key` is that identity, so re-imports find the same product.
    """

    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    group_key: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    brand: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(500), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    image_url: Mapped[str | None] = mapped_column(String(2000))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, index=True)

    variants: Mapped[list[Variant]] = relationship(back_populates="product", order_by="Variant.id")


class Variant(Base):
    """The sellable unit with its own SKU (a size and colour of a product)."""

    __tablename__ = "variants"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_non_negative"),
        CheckConstraint("max_per_customer IS NULL OR max_per_customer >= 1", name="cap_positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    sku_key: Mapped[str] = mapped_column(String(64), unique=True)  # upper-cased sku for lookups
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    color: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[str | None] = mapped_column(String(100))
    price: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    preorder_allowed: Mapped[bool] = mapped_column(default=False)
    backorder_allowed: Mapped[bool] = mapped_column(default=False)
    max_per_customer: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    product: Mapped[Product] = relationship(back_populates="variants")
    stock: Mapped[list[StockLevel]] = relationship(back_populates="variant")
    offers: Mapped[list[SupplierOffer]] = relationship(back_populates="variant")


class StockLevel(Base):
    """Units of one variant at one location. Available to sell is derived, never stored."""

    __tablename__ = "stock_levels"
    __table_args__ = (
        UniqueConstraint("variant_id", "location_id", name="uq_stock_levels_variant_location"),
        CheckConstraint("on_hand >= 0", name="on_hand_non_negative"),
        CheckConstraint("reserved >= 0", name="reserved_non_negative"),
        CheckConstraint("safety_stock >= 0", name="safety_non_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    safety_stock: Mapped[int] = mapped_column(Integer, default=0)

    variant: Mapped[Variant] = relationship(back_populates="stock")


class SupplierOffer(Base):
    """What a supplier asks for a variant and how fast it can deliver.

    `price` is what a shopper pays when this supplier ships the item; `unit_cost` is what
    the merchant pays the supplier per unit (in `currency`), the base of the margin a
    merchant may steer substitutes by (None = unknown). `supplier_qty` is what the
    supplier says it can ship now (None = unknown, 0 = the supplier is out too). The
    primary offer is the merchant's usual source.
    """

    __tablename__ = "supplier_offers"
    __table_args__ = (UniqueConstraint("variant_id", "supplier_id", name="uq_supplier_offers_variant_supplier"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    price: Mapped[Decimal | None] = mapped_column(Money)
    unit_cost: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    lead_time_days: Mapped[int | None] = mapped_column(Integer)
    supplier_qty: Mapped[int | None] = mapped_column(Integer)
    is_primary: Mapped[bool] = mapped_column(default=False)

    variant: Mapped[Variant] = relationship(back_populates="offers")
    supplier: Mapped[Supplier] = relationship()


class PurchaseOrder(Base):
    __tablename__ = "purchase_orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(100), unique=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    status: Mapped[str] = mapped_column(String(20), default=PurchaseOrderStatus.OPEN)
    source: Mapped[str] = mapped_column(String(20), default=PurchaseOrderSource.MANUAL)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    supplier: Mapped[Supplier] = relationship()
    lines: Mapped[list[PurchaseOrderLine]] = relationship(back_populates="purchase_order")


class PurchaseOrderLine(Base):
    __tablename__ = "purchase_order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("quantity_received >= 0 AND quantity_received <= quantity", name="received_in_range"),
        Index("ix_po_lines_variant_status", "variant_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    quantity_received: Mapped[int] = mapped_column(Integer, default=0)
    eta: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=PurchaseOrderStatus.OPEN)

    purchase_order: Mapped[PurchaseOrder] = relationship(back_populates="lines")
    variant: Mapped[Variant] = relationship()


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    identities: Mapped[list[ChannelIdentity]] = relationship(back_populates="customer")


class ChannelIdentity(Base):
    """How a customer is known on a chat channel (Telegram user id, widget session)."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_channel_identities_channel_external"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(200))
    unreachable_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # blocked the bot: nothing is sent

    customer: Mapped[Customer] = relationship(back_populates="identities")


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(30), default=OrderStatus.OPEN)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    placed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    lines: Mapped[list[OrderLine]] = relationship(back_populates="order", order_by="OrderLine.id")
    customer: Mapped[Customer] = relationship()


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(30), default=OrderLineStatus.PENDING)

    order: Mapped[Order] = relationship(back_populates="lines")
    variant: Mapped[Variant] = relationship()


class StockMovement(Base):
    """Append-only log of every change to on_hand or reserved (triggers refuse edits)."""

    __tablename__ = "stock_movements"
    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    on_hand_delta: Mapped[int] = mapped_column(Integer, default=0)
    reserved_delta: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, server_default=func.now())


# --------------------------------------------------------------------------- promises to customers
#
# Pre-orders, backorders and restock holds are explicit rows (as Saleor does with
# allocations and reservations). What is still free to promise is always derived from
# them at the moment of asking, never stored a second time.


class Reservation(Base):
    """A customer's claim on units not on the shelf yet.

    A pre-order points at the purchase-order line it is served from; a backorder has no
    line (nothing is ordered yet) and waits for the next units of the variant. When units
    arrive they are allocated in order of `id` (first come, first served);
    `quantity_allocated` of them are then physically set aside for the customer.
    """

    __tablename__ = "reservations"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("quantity_allocated >= 0 AND quantity_allocated <= quantity", name="allocated_in_range"),
        CheckConstraint("kind IN ('preorder', 'backorder')", name="kind_known"),
        Index("ix_reservations_variant_status", "variant_id", "status"),
        Index("ix_reservations_po_line_status", "purchase_order_line_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    purchase_order_line_id: Mapped[int | None] = mapped_column(ForeignKey("purchase_order_lines.id"))
    kind: Mapped[str] = mapped_column(String(10))  # ReservationKind
    quantity: Mapped[int] = mapped_column(Integer)
    quantity_allocated: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default=ReservationStatus.ACTIVE)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    promised_eta: Mapped[dt.date | None] = mapped_column(Date)  # the date the customer was last told
    idempotency_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class RestockSubscription(Base):
    """"Tell me when it is back": on a whole product (any variant) or one variant."""

    __tablename__ = "restock_subscriptions"
    __table_args__ = (
        Index("ix_restock_subscriptions_product_status", "product_id", "status"),
        Index("ix_restock_subscriptions_variant_status", "variant_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=SubscriptionStatus.ACTIVE)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    notified_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class StockHold(Base):
    """Units set aside for one customer for a limited time (a restock alert's promise).

    While active and unexpired, a hold lowers available-to-sell for everyone else.
    """

    __tablename__ = "stock_holds"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_stock_holds_variant_status", "variant_id", "status"),
        Index("ix_stock_holds_status_expires", "status", "expires_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("restock_subscriptions.id"))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20), default=HoldStatus.ACTIVE)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class OutboxMessage(Base):
    """A message to a customer, written in the same transaction as the change it reports.

    Dispatchers claim rows (claimed_by / claimed_until), send them, and mark them sent;
    `dedupe_key` makes enqueueing the same news twice impossible.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_status_available", "status", "available_at"),
                      Index("ix_outbox_messages_channel_status", "channel", "status"))
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))  # MessageKind
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    available_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    external_id: Mapped[str | None] = mapped_column(String(100))  # the channel's id of the delivered message
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class HandoffTicket(Base):
    """A request for a person: the reason, the conversation, and what they need to act."""

    __tablename__ = "handoff_tickets"
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(200), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(60))  # TicketReason
    status: Mapped[str] = mapped_column(String(20), default=TicketStatus.OPEN)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # The staff member who took the conversation over (the bot is paused meanwhile).
    assigned_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    assigned_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class LedgerEntry(Base):
    """Append-only money ledger (triggers refuse UPDATE and DELETE).

    Every payment, refund and store credit is one row; what may still be refunded is
    derived from the rows. `idempotency_key` is UNIQUE, so a retried request cannot pay
    twice even when two copies race each other.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        CheckConstraint("bonus >= 0", name="bonus_non_negative"),
        Index("ix_ledger_entries_order_kind", "order_id", "kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # LedgerKind
    amount: Mapped[Decimal] = mapped_column(Money)
    bonus: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    currency: Mapped[str] = mapped_column(String(3))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    related_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("handoff_tickets.id"))
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, server_default=func.now())


class OrderAccessAttempt(Base):
    """Every attempt to prove an order is one's own: the basis of rate limiting."""

    __tablename__ = "order_access_attempts"
    __table_args__ = (
        Index("ix_order_access_attempts_conversation_created", "conversation_id", "created_at"),
        Index("ix_order_access_attempts_number_created", "order_number", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(200))
    order_number: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class SubstituteFeedback(Base):
    """A shopper accepted or turned down a suggested substitute: which ones work."""

    __tablename__ = "substitute_feedback"
    __table_args__ = (
        Index("ix_substitute_feedback_sku_substitute", "sku", "substitute_sku"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))  # what the shopper wanted (out of stock)
    substitute_sku: Mapped[str] = mapped_column(String(64), index=True)
    accepted: Mapped[bool] = mapped_column(default=False)
    conversation_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# --------------------------------------------------------------------------- staff console


class StaffUser(Base):
    """A support team member who signs in to the console (/console).

    `password_hash` is self-describing ("scrypt$n$r$p$salt$hash", a per-user random salt),
    so parameters can be raised later without breaking existing accounts.
    """

    __tablename__ = "staff_users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)  # lower-cased
    password_hash: Mapped[str] = mapped_column(String(300))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class StaffSession(Base):
    """A signed-in browser. The cookie carries a random token; only its SHA-256 is stored,
    so a leaked database does not hand out sessions. Deleted on sign-out."""

    __tablename__ = "staff_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class LoginAttempt(Base):
    """Every console sign-in attempt: the basis of rate limiting per username and per address."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_created", "username", "created_at"),
        Index("ix_login_attempts_ip_created", "ip", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
