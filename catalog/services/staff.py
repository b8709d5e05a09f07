"""Staff accounts, sign-in with rate limiting, and server-side sessions for the console.

Every sign-in attempt is recorded *before* the password is checked, so parallel guesses
count as failures at once; five failures for one username, or twenty from one client
address, within the guessing window (catalog.domain.access.WINDOW) refuse further
attempts (even with the right password) until the window has passed.

A session is 32 random bytes in the browser's cookie; the database keeps only their
SHA-256, the staff member, a per-session CSRF token, and the times that end it (12 hours
after sign-in, or after 2 hours without a request).
"""
from __future__ import annotations

import datetime as dt
import enum
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update

from catalog.db.orm import LoginAttempt, StaffSession, StaffUser
from catalog.clock import utcnow
from catalog.domain.access import WINDOW
from catalog.domain.staff import (
    MAX_FAILURES_PER_IP,
    MAX_FAILURES_PER_USERNAME,
    AccountProblem,
    hash_password,
    normalise_username,
    password_problem,
    token_hash,
    username_problem,
    verify_password,
)
from catalog.uow import UnitOfWork

KEEP_ATTEMPTS = dt.timedelta(days=7)
LIFETIME = dt.timedelta(hours=12)
IDLE = dt.timedelta(hours=2)
TOUCH_EVERY = dt.timedelta(minutes=1)

# Checked when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A refused account change; `problem` says why."""

    def __init__(self, problem: AccountProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True)
class Staff:
    id: int
    username: str


@dataclass(frozen=True)
class StaffContext:
    """A signed-in browser: who, and the CSRF token its forms must carry."""

    staff_id: int
    username: str
    csrf_token: str
    session_id: int


class SignIn(str, enum.Enum):
    OK = "ok"
    WRONG = "wrong"  # unknown user, wrong password or disabled account: deliberately the same
    RATE_LIMITED = "rate_limited"


def create_staff(uow: UnitOfWork, username: str, password: str) -> Staff:
    username = normalise_username(username)
    problem = username_problem(username) or password_problem(password, username)
    if problem:
        raise AccountError(problem)
    hashed = hash_password(password)
    with uow:
        uow.begin_write()
        if uow.session.execute(select(StaffUser.id).where(StaffUser.username == username)).first():
            raise AccountError(AccountProblem.EXISTS)
        user = StaffUser(username=username, password_hash=hashed, is_active=True, created_at=utcnow())
        uow.session.add(user)
        uow.session.flush()
        staff = Staff(user.id, user.username)
        uow.commit()
        return staff


def set_password(uow: UnitOfWork, username: str, password: str) -> Staff:
    """A new password for an existing account; every session of that account ends."""
    username = normalise_username(username)
    problem = password_problem(password, username)
    if problem:
        raise AccountError(problem)
    hashed = hash_password(password)
    with uow:
        uow.begin_write()
        user = uow.session.execute(select(StaffUser).where(StaffUser.username == username)).scalar_one_or_none()
        if user is None:
            raise AccountError(AccountProblem.NO_SUCH_ACCOUNT)
        user.password_hash = hashed
        user.is_active = True
        uow.session.execute(delete(StaffSession).where(StaffSession.staff_user_id == user.id))
        staff = Staff(user.id, user.username)
        uow.commit()
        return staff


def authenticate(uow: UnitOfWork, username: str, password: str, ip: str,
                 now: dt.datetime | None = None) -> tuple[SignIn, Staff | None]:
    now = now or utcnow()
    username = normalise_username(username)
    ip = (ip or "unknown")[:64]
    with uow:
        uow.begin_write()
        since = now - WINDOW
        by_user = _failures(uow, LoginAttempt.username == username, since)
        by_ip = _failures(uow, LoginAttempt.ip == ip, since)
        attempt = LoginAttempt(username=username, ip=ip, succeeded=False, created_at=now)
        uow.session.add(attempt)
        if by_user >= MAX_FAILURES_PER_USERNAME or by_ip >= MAX_FAILURES_PER_IP:
            uow.commit()
            return SignIn.RATE_LIMITED, None
        user = uow.session.execute(select(StaffUser.id, StaffUser.username, StaffUser.password_hash,
                                          StaffUser.is_active).where(StaffUser.username == username)).first()
        uow.session.flush()
        attempt_id = attempt.id
        uow.commit()  # counted as a failure until proven otherwise
    if user is None:
        verify_password(password or "", _DUMMY_HASH)
        return SignIn.WRONG, None
    if not verify_password(password or "", user.password_hash) or not user.is_active:
        return SignIn.WRONG, None
    with uow:
        uow.session.execute(update(LoginAttempt).where(LoginAttempt.id == attempt_id).values(succeeded=True))
        uow.session.execute(update(StaffUser).where(StaffUser.id == user.id).values(last_login_at=now))
        uow.session.execute(delete(LoginAttempt).where(LoginAttempt.created_at < now - KEEP_ATTEMPTS))
        uow.commit()
    return SignIn.OK, Staff(user.id, user.username)


def _failures(uow: UnitOfWork, who, since: dt.datetime) -> int:
    return int(uow.session.execute(select(func.count()).select_from(LoginAttempt).where(
        who, LoginAttempt.succeeded.is_(False), LoginAttempt.created_at > since)).scalar_one())


# --------------------------------------------------------------------------- sessions

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


def lookup_session(uow: UnitOfWork, token: str | None, now: dt.datetime | None = None) -> StaffContext | None:
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


