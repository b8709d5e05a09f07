"""Staff accounts' rules: what a username and a password must be, and how passwords are kept.

Hashes are scrypt with a per-user random salt, self-describing (`scrypt$n$r$p$salt$hash`,
base64), so parameters can be raised later without breaking existing accounts; they are
compared in constant time.
"""
from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import re
import secrets

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LEN = 2 ** 14, 8, 1, 32
MAX_FAILURES_PER_USERNAME = 5  # within catalog.domain.access.WINDOW
MAX_FAILURES_PER_IP = 20

# Passwords that pass the length rule but are the first ones guessed.
COMMON = frozenset("""
password1234 password12345 password123456 passwordpassword 123456789012 1234567890123 qwertyuiopas
qwerty123456 letmein12345 iloveyou1234 administrator adminadmin123 welcome12345 changeme1234 changemenow!
correcthorsebatterystaple trustno1trustno1 aaaaaaaaaaaa abcdefghijkl abcdefghijklm 111111111111
""".split())


class AccountProblem(enum.Enum):
    BAD_USERNAME = "bad_username"
    EMPTY_PASSWORD = "empty_password"
    SHORT_PASSWORD = "short_password"
    LONG_PASSWORD = "long_password"
    REPETITIVE_PASSWORD = "repetitive_password"
    COMMON_PASSWORD = "common_password"
    PASSWORD_HAS_USERNAME = "password_has_username"
    EXISTS = "exists"  # creating an account that exists
    NO_SUCH_ACCOUNT = "no_such_account"


def normalise_username(name: str | None) -> str:
    return (name or "").strip().lower()[:64]


def username_problem(name: str) -> AccountProblem | None:
    return None if USERNAME.match(name) else AccountProblem.BAD_USERNAME


def password_problem(password: str, username: str = "") -> AccountProblem | None:
    """Why a password is refused, or None. Long passphrases are the point, not symbol rules."""
    if not password or not password.strip():
        return AccountProblem.EMPTY_PASSWORD
    if len(password) < MIN_PASSWORD:
        return AccountProblem.SHORT_PASSWORD
    if len(password) > MAX_PASSWORD:
        return AccountProblem.LONG_PASSWORD
    if len(set(password)) < 5:
        return AccountProblem.REPETITIVE_PASSWORD
    lowered = password.lower()
    if lowered in COMMON or lowered.rstrip("!0123456789") in {"password", "qwerty", "letmein", "welcome", "admin"}:
        return AccountProblem.COMMON_PASSWORD
    if username and username.lower() in lowered:
        return AccountProblem.PASSWORD_HAS_USERNAME
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


def token_hash(token: str) -> str:
    """What is stored of a session token: its SHA-256, so a leaked database hands out nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
