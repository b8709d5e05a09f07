"""Staff accounts: scrypt password hashes with a per-user salt, sign-in with rate limiting.

Hashes are self-describing (`scrypt$n$r$p$salt$hash`, base64), compared in constant time.
Every sign-in attempt is recorded *before* the password is checked, so parallel guesses
count as failures at once; five failures for one username, or twenty from one client
address, within 15 minutes refuse further attempts (even with the right password) until
the window has passed.
"""
from __future__ import annotations

import base64
import datetime as dt
import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update

from catalog.db.orm import LoginAttempt, StaffSession, StaffUser, utcnow
from catalog.uow import UnitOfWork

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LEN = 2 ** 14, 8, 1, 32
MAX_FAILURES_PER_USERNAME = 5
MAX_FAILURES_PER_IP = 20
WINDOW = dt.timedelta(minutes=15)
KEEP_ATTEMPTS = dt.timedelta(days=7)

# Passwords that pass the length rule but are the first ones guessed.
COMMON = frozenset("""
password1234 password12345 password123456 passwordpassword 123456789012 1234567890123 qwertyuiopas
qwerty123456 letmein12345 iloveyou1234 administrator adminadmin123 welcome12345 changeme1234 changemenow!
correcthorsebatterystaple trustno1trustno1 aaaaaaaaaaaa abcdefghijkl abcdefghijklm 111111111111
""".split())


class AccountError(ValueError):
    """A refused account change; the message is meant for the person at the keyboard."""


def normalise_username(name: str | None) -> str:
    return (name or "").strip().lower()[:64]


def username_problem(name: str) -> str | None:
    if not USERNAME.match(name):
        return ("a username is 3 to 64 characters: lower-case letters, digits, '.', '_' or '-', "
                "starting with a letter or digit")
    return None


def password_problem(password: str, username: str = "") -> str | None:
    """Why a password is refused, or None. Long passphrases are the point, not symbol rules."""
    if not password or not password.strip():
        return "the password is empty"
    if len(password) < MIN_PASSWORD:
        return f"the password is too short: use at least {MIN_PASSWORD} characters (a few words work well)"
    if len(password) > MAX_PASSWORD:
        return f"the password is too long (at most {MAX_PASSWORD} characters)"
    if len(set(password)) < 5:
        return "the password repeats too few different characters"
    lowered = password.lower()
    if lowered in COMMON or lowered.rstrip("!0123456789") in {"password", "qwerty", "letmein", "welcome", "admin"}:
        return "the password is too common"
    if username and username.lower() in lowered:
        return "the password must not contain the username"
    return None


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=SCRYPT_LEN)
    return "$".join(["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                                dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


# Checked when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Staff:
    id: int
    username: str


def create_staff(uow: UnitOfWork, username: str, password: str) -> Staff:
    username = normalise_username(username)
    problem = username_problem(username) or password_problem(password, username)
    if problem:
        raise AccountError(problem)
    hashed = hash_password(password)
    with uow:
        uow.begin_write()
        if uow.session.execute(select(StaffUser.id).where(StaffUser.username == username)).first():
            raise AccountError(f"a staff account {username!r} already exists")
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
            raise AccountError(f"there is no staff account {username!r}")
        user.password_hash = hashed
        user.is_active = True
        uow.session.execute(delete(StaffSession).where(StaffSession.staff_user_id == user.id))
        staff = Staff(user.id, user.username)
        uow.commit()
        return staff


class SignIn(str, enum.Enum):
    OK = "ok"
    WRONG = "wrong"  # unknown user, wrong password or disabled account: deliberately the same
    RATE_LIMITED = "rate_limited"


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
