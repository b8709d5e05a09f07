"""Pre-orders and backorders as the shopper reads them: the form's questions, the
confirmation summary, and every outcome of catalog.services.reservations."""
from __future__ import annotations

from catalog.domain.reservations import MAX_UNITS_PER_REQUEST, QuantityProblem
from catalog.domain.statuses import ReservationKind
from catalog.services.reservations import Alternatives, Outcome, ReservationResult, ReservationView, Summary
from catalog.wording.format import due, listing, money

ASK_PRODUCT = "Which product would you like to reserve? Tell me its name or SKU."
ASK_WHICH_PRODUCT = "I found a few products that could match. Which one would you like to reserve?"
IN_STOCK_NO_NEED = ("Good news: it's in stock now, so there's no need to reserve it - "
                    "you can order it in the shop straight away.")
ASK_QUANTITY_AGAIN = f"Please tell me a number of units between 1 and {MAX_UNITS_PER_REQUEST}."
HOW_MANY_INSTEAD = " How many would you like instead?"
NOT_RESERVED = "OK, I haven't reserved anything. Anything else I can check for you?"
STOPPED_FORM = "OK, I've stopped there - nothing was reserved or changed. What else can I help you with?"
SLIP_POLICY = ("If the date slips we tell you the new date straight away, and you can keep waiting "
               "or cancel for a full refund.")
CONFIRM_BUTTONS = [{"title": "Yes, reserve it", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]

_QUANTITY = {
    QuantityProblem.NOT_A_WHOLE_NUMBER: "The quantity must be a whole number.",
    QuantityProblem.TOO_FEW: "The quantity must be at least 1.",
    QuantityProblem.TOO_MANY: f"At most {MAX_UNITS_PER_REQUEST} units can be reserved in one request.",
}
_KIND = {ReservationKind.PREORDER: "pre-order", ReservationKind.BACKORDER: "backorder"}


def kind_name(kind: ReservationKind) -> str:
    return _KIND[ReservationKind(kind)]


def which_variant(name: str) -> str:
    return f"Which {name} would you like to reserve?"


def place(view: ReservationView) -> str:
    """Where the shopper stands: "you are #4; due around 12 Dec"."""
    if not view.position:
        return "your units are set aside for you"
    return f"you are #{view.position}; " + (f"due around {due(view.expected)}" if view.expected
                                            else "date not confirmed yet")


def confirmation(summary: Summary, name: str) -> str:
    when = f"expected around {due(summary.expected)}" if summary.expected else "no confirmed date yet"
    return (f"To confirm: {kind_name(summary.kind)} {summary.quantity} x {name} ({summary.sku}) at "
            f"{money(summary.unit_price, summary.currency)} each, {money(summary.total, summary.currency)} in total, "
            f"{when}. You'd be #{summary.position} in line. {SLIP_POLICY} Shall I reserve it?")


def reserved(quantity: int, view: ReservationView) -> str:
    return f"Done - {quantity} reserved for you: {place(view)}. I'll keep you posted here if anything changes."


def result_text(result: ReservationResult) -> str:
    """What to tell the shopper about any outcome of the reservations service."""
    o, view = result.outcome, result.reservation
    if o is Outcome.BAD_QUANTITY:
        return _QUANTITY[result.problem]
    if o is Outcome.UNKNOWN_ITEM:
        return "I couldn't find that item."
    if o is Outcome.OVER_CAP:
        left = f"; {result.cap_left} more for you" if result.cap_left is not None else ""
        return f"You can reserve at most {result.cap} of this item per customer{left}."
    if o is Outcome.IN_STOCK:
        return "Good news: it's in stock now, no reservation needed."
    if o is Outcome.NOT_ALLOWED:
        what = "pre-ordered" if result.kind is ReservationKind.PREORDER else "backordered"
        return f"This item can't be {what}." + _instead(result.alternatives)
    if o is Outcome.SOLD_OUT:
        return "Sorry, every incoming unit is already promised." + _instead(result.alternatives)
    if o is Outcome.NOT_ENOUGH_INCOMING:
        return "Sorry, there aren't that many incoming units left." + _instead(result.alternatives)
    if o is Outcome.BELOW_ALLOCATED:
        return f"{result.allocated} units are already set aside for you."
    if o is Outcome.NOT_FOUND:
        return "I couldn't find that reservation of yours."
    if o is Outcome.CAN_RESERVE:
        return "Please confirm."
    if o is Outcome.CANCELLED:
        return "Your reservation is cancelled."
    if o is Outcome.ALREADY_RESERVED:
        return f"Already reserved: {place(view)}."
    if o is Outcome.CHANGED:
        return f"Changed to {view.quantity}: {place(view)}."
    if o is Outcome.RESERVED:
        return f"Reserved: {place(view)}."
    raise ValueError(f"no words for {o}")


def _instead(alternatives: Alternatives | None) -> str:
    if alternatives is None:
        return ""
    offers = ["a restock alert"] if alternatives.restock_alert else []
    if alternatives.backorder:
        offers.insert(0, "a backorder")
    if alternatives.substitutes:
        offers.append("a similar item in stock")
    return f" I can offer {listing(offers)}." if offers else ""


# --------------------------------------------------------------------------- the shopper's requests

NOTHING_WITH_US = "You have no pre-orders, backorders or restock alerts with us right now."
NO_SUCH_RESERVATION = "I can't find an active reservation with that number on your account."
NO_ACTIVE_RESERVATIONS = "You have no active pre-orders or backorders."


def request_line(view: ReservationView, name: str) -> str:
    return f"#{view.id}: {kind_name(view.kind)} of {view.quantity} x {name} - {place(view)}"


def alert_line(title: str, sku: str | None) -> str:
    return f"Restock alert: {title}" + (f" ({sku})" if sku else "")


def requests_overview(lines: list[str]) -> str:
    return "Here's what you have with us:\n" + "\n".join(lines)


def cancel_button(view: ReservationView) -> str:
    return f"Cancel #{view.id}"


def which_reservation(verb: str) -> str:
    return f"Which reservation would you like to {verb}?"


def reservation_button(view: ReservationView, name: str) -> str:
    return f"#{view.id}: {view.quantity} x {name}"


def cancelled(view: ReservationView, name: str) -> str:
    return f"Done - reservation #{view.id} for {name} is cancelled."


def ask_new_quantity(view: ReservationView) -> str:
    return f"How many would you like on reservation #{view.id} instead? For example: \"change it to 2\"."


def changed(view: ReservationView) -> str:
    when = f"; due around {due(view.expected)}" if view.expected else ""
    return f"Done - reservation #{view.id} is now for {view.quantity}{when}."
