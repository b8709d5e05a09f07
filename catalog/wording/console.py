"""What support staff read in the console (and the create-staff command)."""
from __future__ import annotations

import datetime as dt

from catalog.domain.access import WINDOW
from catalog.domain.staff import MAX_PASSWORD, MIN_PASSWORD, AccountProblem
from catalog.domain.statuses import TicketReason
from catalog.wording.format import minutes

REASON_LABELS = {
    TicketReason.CUSTOMER_REQUEST: "asked for a person",
    TicketReason.REFUND_APPROVAL: "refund waiting for approval",
    TicketReason.ORDER_PROBLEM: "order problem",
    TicketReason.OTHER: "other",
}

# Outcomes of a form, shown after the redirect (?done=... / ?error=...).
DONE = {
    "taken": "You have the conversation: the assistant stays quiet until you hand it back.",
    "replied": "Message sent.",
    "handed_back": "Handed back: the assistant answers the customer's next message.",
    "approved": "Refund approved and paid.",
    "rejected": "Refund rejected.",
    "already_decided": "Someone decided this refund already; nothing more was paid.",
}
ERRORS = {
    "taken_by_other": "Another staff member has this conversation.",
    "rasa": "The assistant could not be reached, so nothing changed. Try again in a moment.",
    "not_paused": "Take the conversation over before replying, so the assistant does not answer too.",
    "delivery": "The message could not be delivered.",
    "not_told": "Decided, but the customer could not be told automatically; please message them.",
}

SIGN_IN_FIRST = "Sign in to the console first."
WRONG_SIGN_IN = "Wrong username or password."
TOO_MANY_SIGN_INS = (f"Too many failed sign-ins for this account or from this address. "
                     f"Wait {minutes(WINDOW)}, then try again.")
SIGN_IN_FORM_EXPIRED = "This sign-in form expired or did not come from this site. Please sign in again."
CSRF_REFUSED = ("This request did not carry the console's security token (CSRF). "
                "Reload the page and try again.")
BAD_DECISION = "The decision must be approve or reject."
NOT_FOUND = "Not found."
TRANSCRIPT_UNAVAILABLE = "The transcript is not available: {reason}."


def no_ticket(ticket_id: int) -> str:
    return f"There is no ticket #{ticket_id}."


def no_refund_ticket(ticket_id: int) -> str:
    return f"There is no refund waiting for approval under ticket #{ticket_id}."


ACCOUNT_PROBLEMS = {
    AccountProblem.BAD_USERNAME: ("a username is 3 to 64 characters: lower-case letters, digits, '.', '_' or '-', "
                                  "starting with a letter or digit"),
    AccountProblem.EMPTY_PASSWORD: "the password is empty",
    AccountProblem.SHORT_PASSWORD: (f"the password is too short: use at least {MIN_PASSWORD} characters "
                                    "(a few words work well)"),
    AccountProblem.LONG_PASSWORD: f"the password is too long (at most {MAX_PASSWORD} characters)",
    AccountProblem.REPETITIVE_PASSWORD: "the password repeats too few different characters",
    AccountProblem.COMMON_PASSWORD: "the password is too common",
    AccountProblem.PASSWORD_HAS_USERNAME: "the password must not contain the username",
    AccountProblem.EXISTS: "a staff account with that name already exists",
    AccountProblem.NO_SUCH_ACCOUNT: "there is no staff account with that name",
}


def waited(since: dt.datetime, now: dt.datetime) -> str:
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


UNKNOWN_CHANNEL = "unknown"


def customer_label(name: str, email: str | None, customer_id: int | None, sender_id: str) -> str:
    return name or email or (f"customer #{customer_id}" if customer_id else sender_id)


def ticket_summary(reason: str, payload: dict) -> str:
    """One line about what the ticket is for: the refund, or what the shopper said."""
    if reason == TicketReason.REFUND_APPROVAL:
        return (f"Refund of {payload.get('amount', '?')} {payload.get('currency', '')} for order "
                f"{payload.get('order_number', '?')}").strip()
    if payload.get("taken_over_again"):
        return "taken over again by staff"
    return str(payload.get("note") or "").replace("\n", " / ")[:300]


# --------------------------------------------------------------------------- the transcript

def taken_over(staff: str) -> str:
    return f"{staff} took the conversation over"


def handed_back(staff: str) -> str:
    return f"{staff} handed the conversation back to the assistant"


PAUSED = "assistant paused"
RESUMED = "assistant resumed"


# --------------------------------------------------------------------------- the customer's side and stock

ANY_VARIANT = "any variant"
NO_VARIANT = "-"


def identity(channel: str, external_id: str, unreachable: bool) -> str:
    return f"{channel}: {external_id}" + (" (unreachable)" if unreachable else "")


def stock_state(available: int) -> str:
    return "out of stock" if available <= 0 else "low"


def outlook_label(outlook: str) -> str:
    """"incoming", "lead time", ... for a variant in the stock panel."""
    return str(outlook).replace("_", " ")
