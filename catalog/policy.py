"""The merchant's policy file: answers to "what's your refund policy?", money settings and
what the merchant steers (higher-margin substitutes first, "goes with" suggestions).

Read lazily and re-read when the file changes, so a merchant's edit shows up in the
next answer without restarting anything. A broken file never breaks the chat: the
last good version keeps being used and the problem is logged.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import yaml

from catalog.config import policy_path

log = logging.getLogger(__name__)

# What applies while the file does not say (or cannot be read).
STORE_CREDIT_BONUS_PERCENT = Decimal("10")  # store credit is worth this much more than a refund
REFUND_APPROVAL_THRESHOLD = Decimal("200")  # refunds above this wait for a person
RESTOCK_HOLD_HOURS = Decimal("4")  # an alerted customer's unit is held this long
PREFER_HIGHER_MARGIN = False  # substitutes in the order that suits the shopper, not the margin
# How much worse (in substitute score, about a tenth of a product's similarity) a
# higher-margin substitute may be and still go first; 0: only among equal scores.
MARGIN_TOLERANCE = 0.05
GOES_WITH_SUGGESTIONS = 2  # "goes with" items shown after a reservation; 0 turns them off


@dataclass(frozen=True)
class PolicyTopic:
    key: str
    title: str
    keywords: tuple[str, ...]
    answer: str


@dataclass(frozen=True)
class Policies:
    store_name: str
    topics: dict[str, PolicyTopic]
    store_credit_bonus_percent: Decimal = STORE_CREDIT_BONUS_PERCENT
    refund_approval_threshold: Decimal = REFUND_APPROVAL_THRESHOLD
    restock_hold_hours: Decimal = RESTOCK_HOLD_HOURS
    prefer_higher_margin_substitutes: bool = PREFER_HIGHER_MARGIN
    margin_preference_tolerance: float = MARGIN_TOLERANCE
    goes_with_suggestions: int = GOES_WITH_SUGGESTIONS

    def find(self, topic: str | None, text: str = "") -> PolicyTopic | None:
        """The topic the NLU named, else the one whose keywords the message uses most."""
        if topic:
            key = topic.strip().lower().replace("-", "_").replace(" ", "_")
            for k in (key, key.rstrip("s"), key + "s"):
                if k in self.topics:
                    return self.topics[k]
        lowered = f" {text.lower()} "
        best, best_hits = None, 0
        for t in self.topics.values():
            hits = sum(1 for kw in t.keywords if re.search(rf"\b{re.escape(kw.lower())}\b", lowered))
            if hits > best_hits:
                best, best_hits = t, hits
        return best


def _parse(data: dict) -> Policies:
    topics = {}
    for key, t in (data.get("topics") or {}).items():
        topics[str(key)] = PolicyTopic(
            key=str(key), title=str(t.get("title") or key), keywords=tuple(str(k) for k in t.get("keywords") or ()),
            answer=" ".join(str(t["answer"]).split()),
        )
    if not topics:
        raise ValueError("no topics")
    return Policies(
        store_name=str(data.get("store_name") or "our shop"), topics=topics,
        store_credit_bonus_percent=Decimal(str(data.get("store_credit_bonus_percent", STORE_CREDIT_BONUS_PERCENT))),
        refund_approval_threshold=Decimal(str(data.get("refund_approval_threshold", REFUND_APPROVAL_THRESHOLD))),
        restock_hold_hours=Decimal(str(data.get("restock_hold_hours", RESTOCK_HOLD_HOURS))),
        prefer_higher_margin_substitutes=_flag(data, "prefer_higher_margin_substitutes", PREFER_HIGHER_MARGIN),
        margin_preference_tolerance=_number(data, "margin_preference_tolerance", MARGIN_TOLERANCE),
        goes_with_suggestions=int(_number(data, "goes_with_suggestions", GOES_WITH_SUGGESTIONS)),
    )


def _flag(data: dict, key: str, default: bool) -> bool:
    """A yes/no setting; anything else makes the file invalid (a typo must not quietly
    turn a merchant's choice around)."""
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false, got {value!r}")
    return value


def _number(data: dict, key: str, default: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{key} must be a number >= 0, got {value!r}")
    return float(value)


class PolicyStore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or policy_path()
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._policies: Policies | None = None

    def get(self) -> Policies | None:
        """Current policies, or None if the file was never readable."""
        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            log.error("policy file %s is missing", self.path)
            return self._policies
        if mtime != self._mtime:
            with self._lock:
                try:
                    self._policies = _parse(yaml.safe_load(self.path.read_text(encoding="utf-8")) or {})
                except Exception as exc:  # keep the last good version
                    log.error("policy file %s is invalid (%s); using the last good version", self.path, exc)
                self._mtime = mtime
        return self._policies


@lru_cache(maxsize=1)
def shared_store() -> PolicyStore:
    """The process's policy file reader (POLICY_FILE), re-reading the file when it changes."""
    return PolicyStore()


@dataclass(frozen=True)
class MoneySettings:
    bonus_percent: Decimal = STORE_CREDIT_BONUS_PERCENT
    approval_threshold: Decimal = REFUND_APPROVAL_THRESHOLD


def money_settings(store: PolicyStore | None = None) -> MoneySettings:
    policies = (store or shared_store()).get()
    if policies is None:
        return MoneySettings()
    return MoneySettings(policies.store_credit_bonus_percent, policies.refund_approval_threshold)


def restock_hold(store: PolicyStore | None = None) -> dt.timedelta:
    """How long an alerted customer's unit is held: `restock_hold_hours` in the policy file."""
    policies = (store or shared_store()).get()
    return dt.timedelta(hours=float(policies.restock_hold_hours if policies else RESTOCK_HOLD_HOURS))


@dataclass(frozen=True)
class SteeringSettings:
    """What the merchant steers in suggestions (policy file)."""

    prefer_higher_margin: bool = PREFER_HIGHER_MARGIN
    margin_tolerance: float = MARGIN_TOLERANCE
    goes_with: int = GOES_WITH_SUGGESTIONS


def steering_settings(store: PolicyStore | None = None) -> SteeringSettings:
    """`prefer_higher_margin_substitutes`, `margin_preference_tolerance` and
    `goes_with_suggestions` from the policy file (the defaults while it is unreadable)."""
    policies = (store or shared_store()).get()
    if policies is None:
        return SteeringSettings()
    return SteeringSettings(policies.prefer_higher_margin_substitutes, policies.margin_preference_tolerance,
                            policies.goes_with_suggestions)
