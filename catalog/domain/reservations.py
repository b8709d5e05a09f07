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


class Kind(str, enum.Enum):
    PREORDER = "preorder"  # units on an open purchase-order line
    BACKORDER = "backorder"  # nothing ordered yet; served from the next units that arrive


def quantity_problem(quantity: object) -> str | None:
    """Why a requested quantity cannot be taken, or None when it is fine."""
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        return "the quantity must be a whole number"
    if quantity < 1:
        return "the quantity must be at least 1"
    if quantity > MAX_UNITS_PER_REQUEST:
        return f"at most {MAX_UNITS_PER_REQUEST} units can be reserved in one request"
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
class LineCapacity:
    """An open purchase-order line as far as promises go."""

    line_id: int
    eta: dt.date | None
    still_to_arrive: int  # quantity - quantity_received
    promised: int  # units of active reservations still waiting on this line

    @property
    def free(self) -> int:
        return max(0, self.still_to_arrive - self.promised)


def pick_line(lines: Iterable[LineCapacity], quantity: int) -> LineCapacity | None:
    """The earliest-arriving line that can take the whole request (undated lines last).

    One reservation is served from one line so that its date is one date.
    """
    candidates = [line for line in lines if line.free >= quantity]
    if not candidates:
        return None
    return min(candidates, key=lambda line: (line.eta is None, line.eta or dt.date.max, line.line_id))


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


def due_text(eta: dt.date | None) -> str:
    """"12 Dec" (the year only when it is not obvious is left to the chat side)."""
    return f"{eta.day} {eta.strftime('%b')}" if eta else "date not confirmed yet"


def place_text(position: int, eta: dt.date | None) -> str:
    """The reply the issue asks for: "you are #4; due around 12 Dec"."""
    return f"you are #{position}; due around {due_text(eta)}" if eta else f"you are #{position}; date not confirmed yet"


SLIP_POLICY = ("If the date slips we tell you the new date straight away, and you can keep waiting "
               "or cancel for a full refund.")
