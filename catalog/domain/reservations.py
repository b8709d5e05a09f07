"""Pre-order and backorder arithmetic: caps, free incoming units, queue order, allocation.

Plain values in, plain values out: the service locks rows and feeds these rules the
numbers it read, so the same rules are property-tested without a database.
"""
from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_UNITS_PER_REQUEST = 100  # a chat request for more is a typo or an attack, not a customer


class QuantityProblem(enum.Enum):
    NOT_A_WHOLE_NUMBER = "not_a_whole_number"
    TOO_FEW = "too_few"  # less than 1
    TOO_MANY = "too_many"  # more than MAX_UNITS_PER_REQUEST


def quantity_problem(quantity: object) -> QuantityProblem | None:
    """Why a requested quantity cannot be taken, or None when it is fine."""
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        return QuantityProblem.NOT_A_WHOLE_NUMBER
    if quantity < 1:
        return QuantityProblem.TOO_FEW
    if quantity > MAX_UNITS_PER_REQUEST:
        return QuantityProblem.TOO_MANY
    return None


def cap_remaining(cap: int | None, already: int) -> int | None:
    """How many more units a customer may still reserve (None = no cap)."""
    if cap is None:
        return None
    return max(0, cap - already)


def within_cap(cap: int | None, already: int, requested: int) -> bool:
    remaining = cap_remaining(cap, already)
    return remaining is None or requested <= remaining


@dataclass(frozen=True)
class OpenLine:
    """An open line of an open purchase order, as far as promises go."""

    line_id: int
    variant_id: int
    eta: dt.date | None
    still_to_arrive: int  # quantity - quantity_received
    promised: int  # units of active reservations still waiting on this line
    supplier: str = ""
    reference: str = ""  # the purchase order's

    @property
    def free(self) -> int:
        """Units on their way that nobody has pre-ordered yet."""
        return max(0, self.still_to_arrive - self.promised)


def pick_line(lines: Iterable[OpenLine], quantity: int) -> OpenLine | None:
    """The earliest-arriving line that can take the whole request (undated lines last).

    One reservation is served from one line so that its date is one date.
    """
    candidates = [line for line in lines if line.free >= quantity]
    if not candidates:
        return None
    return min(candidates, key=lambda line: (line.eta is None, line.eta or dt.date.max, line.line_id))


def earliest_eta(lines: Iterable[OpenLine]) -> dt.date | None:
    dated = [line.eta for line in lines if line.eta is not None]
    return min(dated) if dated else None


def queue_position(waiting_ids: Sequence[int], my_id: int) -> int:
    """1-based place in line among reservations served from the same source (by id)."""
    return sum(1 for rid in waiting_ids if rid <= my_id)


def allocate_in_order(waiting: Sequence[tuple[int, int]], units: int) -> list[tuple[int, int]]:
    """Share `units` among (reservation id, units still waiting), first come first served.

    A reservation may be served partly (the rest keeps its place at the head of the
    line); the result lists (id, units given) and never gives more than `units` in
    total or more than a reservation waits for.
    """
    given: list[tuple[int, int]] = []
    left = max(0, units)
    for rid, want in sorted(waiting):
        if left <= 0:
            break
        take = min(want, left)
        if take > 0:
            given.append((rid, take))
            left -= take
    return given


def backorder_eta(today: dt.date, lead_time_days: int | None) -> dt.date | None:
    return today + dt.timedelta(days=lead_time_days) if lead_time_days is not None else None
