"""Money rules for the append-only ledger, in exact decimals.

What can still be refunded is derived from the ledger rows every time; nothing about
it is stored. Every kind of row has a fixed effect on the refundable amount:

    payment          +amount   money received
    refund           -amount   money sent back at once
    store_credit     -amount   paid money turned into credit (the bonus is on top, not from it)
    refund_pending   -amount   a refund waiting for staff approval (held, so it cannot be asked twice)
    refund_approved   0        the pending refund paid out (already counted when it was requested)
    refund_rejected  +amount   a pending refund turned down: the money is refundable again
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from catalog.domain.statuses import LedgerKind

CENT = Decimal("0.01")
_EFFECT = {LedgerKind.PAYMENT: 1, LedgerKind.REFUND: -1, LedgerKind.STORE_CREDIT: -1, LedgerKind.REFUND_PENDING: -1,
           LedgerKind.REFUND_APPROVED: 0, LedgerKind.REFUND_REJECTED: 1}


def cents(amount: Decimal) -> Decimal:
    """Round to cents the way a till does (half up), never through float."""
    if not isinstance(amount, Decimal):
        raise TypeError("money must be a Decimal")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def store_credit_bonus(base: Decimal, percent: Decimal) -> Decimal:
    """Bonus on top of store credit: `percent` of the base, rounded to cents half up."""
    if percent < 0:
        raise ValueError("the store credit bonus cannot be negative")
    return cents(base * percent / Decimal(100))


def needs_approval(amount: Decimal, threshold: Decimal) -> bool:
    """Refunds strictly above the merchant's threshold wait for a person."""
    return amount > threshold


@dataclass(frozen=True)
class Entry:
    kind: str
    amount: Decimal
    order_line_id: int | None = None


def refundable(entries: Iterable[Entry], paid_without_entries: Decimal = Decimal("0")) -> Decimal:
    """Paid minus everything refunded, credited or awaiting approval; never negative.

    `paid_without_entries` is what was paid when the ledger has no payment rows for the
    order (orders paid at checkout before the ledger existed): the order lines' total.
    """
    entries = list(entries)
    total = Decimal("0")
    has_payment = False
    for e in entries:
        if e.kind not in _EFFECT:
            raise ValueError(f"unknown ledger kind {e.kind!r}")
        has_payment |= e.kind == LedgerKind.PAYMENT
        total += _EFFECT[e.kind] * e.amount
    if not has_payment:
        total += paid_without_entries
    return max(Decimal("0"), total)


def consumed_by_line(entries: Iterable[Entry]) -> dict[int, Decimal]:
    """Per order line: how much of its price is already refunded, credited or pending."""
    out: dict[int, Decimal] = {}
    for e in entries:
        if e.order_line_id is None or e.kind == LedgerKind.PAYMENT:
            continue
        out[e.order_line_id] = out.get(e.order_line_id, Decimal("0")) - _EFFECT[e.kind] * e.amount
    return out


def amount_to_return(line_totals: dict[int, Decimal], entries: Iterable[Entry], order_refundable: Decimal) -> Decimal:
    """What cancelling these lines gives back: each line's price minus what it already got,
    capped by what the order as a whole can still refund."""
    used = consumed_by_line(entries)
    owed = sum((max(Decimal("0"), total - used.get(lid, Decimal("0"))) for lid, total in line_totals.items()),
               Decimal("0"))
    return cents(min(owed, order_refundable))
