"""Server-side staff sessions and CSRF tokens.

The cookie holds 32 random bytes; the database keeps only their SHA-256, the staff member,
a per-session CSRF token, and the times that end the session (12 hours after sign-in, or
after 2 hours without a request). The cookie is HttpOnly and SameSite=Strict (Secure with
the `__Host-` prefix behind HTTPS). Nothing else grants access: a shopper's cookies, or a
made-up token, match no row.

Every POST carries the session's CSRF token (a hidden form field or the X-CSRF-Token
header), compared in constant time. The sign-in form, which has no session yet, uses a
double-submit token: a random cookie that must equal the form field.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select, update

from catalog.db.orm import StaffSession, StaffUser, utcnow
from catalog.uow import UnitOfWork

LIFETIME = dt.timedelta(hours=12)
IDLE = dt.timedelta(hours=2)
TOUCH_EVERY = dt.timedelta(minutes=1)
COOKIE = "console_session"
SECURE_COOKIE = "__Host-console_session"
LOGIN_COOKIE = "console_login"
SECURE_LOGIN_COOKIE = "__Host-console_login"


@dataclass(frozen=True)
class StaffContext:
    staff_id: int
    username: str
    csrf_token: str
    session_id: int


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_session(uow: UnitOfWork, staff_id: int, now: dt.datetime | None = None) -> str:
    """A new session (a fresh token on every sign-in: no session fixation); returns the cookie value."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    with uow:
        uow.session.execute(delete(StaffSession).where(StaffSession.expires_at < now))
        uow.session.add(StaffSession(staff_user_id=staff_id, token_hash=token_hash(token),
                                     csrf_token=secrets.token_urlsafe(32), created_at=now, last_seen_at=now,
                                     expires_at=now + LIFETIME))
        uow.commit()
    return token


def lookup(uow: UnitOfWork, token: str | None, now: dt.datetime | None = None) -> StaffContext | None:
    """The signed-in staff member for a cookie value, or None (unknown, expired, idle, disabled)."""
    if not token or len(token) > 200:
        return None
    now = now or utcnow()
    with uow:
        row = uow.session.execute(
            select(StaffSession.id, StaffSession.csrf_token, StaffSession.last_seen_at, StaffSession.expires_at,
                   StaffUser.id, StaffUser.username, StaffUser.is_active)
            .join(StaffUser, StaffSession.staff_user_id == StaffUser.id)
            .where(StaffSession.token_hash == token_hash(token))).first()
        if row is None:
            return None
        session_id, csrf, last_seen, expires, staff_id, username, active = row
        if not active or expires <= now or now - last_seen > IDLE:
            uow.session.execute(delete(StaffSession).where(StaffSession.id == session_id))
            uow.commit()
            return None
        if now - last_seen > TOUCH_EVERY:
            uow.session.execute(update(StaffSession).where(StaffSession.id == session_id).values(last_seen_at=now))
            uow.commit()
        return StaffContext(staff_id, username, csrf, session_id)


def end_session(uow: UnitOfWork, token: str | None) -> None:
    if not token:
        return
    with uow:
        uow.session.execute(delete(StaffSession).where(StaffSession.token_hash == token_hash(token)))
        uow.commit()


def same_token(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; an empty token never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def new_login_token() -> str:
    return secrets.token_urlsafe(32)


def cookie_names(secure: bool) -> tuple[str, str]:
    """(session cookie, sign-in form cookie)."""
    return (SECURE_COOKIE, SECURE_LOGIN_COOKIE) if secure else (COOKIE, LOGIN_COOKIE)
