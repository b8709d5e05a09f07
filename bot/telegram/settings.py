"""Telegram's settings, read from the environment here and nowhere else (nothing secret
lives in files). Pure Python: Rasa's telegram channel (another Python) reads the bridge's
secret from here too."""
from __future__ import annotations

import os
from dataclasses import dataclass

# The bridge proves itself to Rasa's telegram channel with this header (the shared secret).
BRIDGE_SECRET_HEADER = "X-Bridge-Secret"


def bridge_secret(env: dict[str, str] | None = None) -> str:
    """Shared by the bridge and Rasa's telegram channel: only the bridge may speak as Telegram."""
    return (os.environ if env is None else env).get("TELEGRAM_BRIDGE_SECRET", "")


@dataclass(frozen=True)
class TelegramSettings:
    token: str
    mode: str = "polling"  # polling | webhook
    api_base_url: str = "https://api.telegram.org/bot"  # tests point this at a local Bot API server
    webhook_url: str | None = None  # public HTTPS URL Telegram posts updates to
    webhook_secret: str | None = None  # Telegram sends it back in X-Telegram-Bot-Api-Secret-Token
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    rasa_url: str = "http://127.0.0.1:5005"
    bridge_secret: str = ""  # shared with Rasa's telegram channel: only the bridge may speak as Telegram

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> TelegramSettings:
        env = os.environ if env is None else env
        mode = env.get("TELEGRAM_MODE", "polling").strip().lower() or "polling"
        if mode not in ("polling", "webhook"):
            raise ValueError(f"TELEGRAM_MODE must be polling or webhook, not {mode!r}")
        settings = cls(
            token=env.get("TELEGRAM_BOT_TOKEN", "").strip(),
            mode=mode,
            api_base_url=env.get("TELEGRAM_API_BASE_URL", cls.api_base_url).strip(),
            webhook_url=env.get("TELEGRAM_WEBHOOK_URL") or None,
            webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET") or None,
            webhook_listen=env.get("TELEGRAM_WEBHOOK_LISTEN", "127.0.0.1"),
            webhook_port=int(env.get("TELEGRAM_WEBHOOK_PORT", "8443")),
            rasa_url=env.get("RASA_URL", f"http://127.0.0.1:{env.get('RASA_PORT', '5005')}").rstrip("/"),
            bridge_secret=bridge_secret(env),
        )
        if settings.enabled and mode == "webhook" and not (settings.webhook_url and settings.webhook_secret):
            raise ValueError("webhook mode needs TELEGRAM_WEBHOOK_URL and TELEGRAM_WEBHOOK_SECRET")
        return settings
