"""The web server's (and the web sender's) settings, read from the environment here and
nowhere else."""
from __future__ import annotations

import os
from dataclasses import dataclass

from bot.rasa_api import RasaApi


@dataclass(frozen=True)
class WebSettings:
    port: int = 8080
    bind: str = "0.0.0.0"
    # Where browsers reach Rasa's socket.io channel (the widget connects there directly).
    public_rasa_url: str = "http://127.0.0.1:5005"
    # Where this server reaches Rasa's HTTP API (transcripts, pause/resume, staff replies).
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = ""  # Rasa's --auth-token for its HTTP API
    secure_cookies: bool = False  # set behind HTTPS

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> WebSettings:
        env = os.environ if env is None else env
        rasa_port = env.get("RASA_PORT", "5005")
        return cls(
            port=int(env.get("WEB_PORT", "8080")),
            bind=env.get("BIND", "0.0.0.0"),
            public_rasa_url=env.get("PUBLIC_RASA_URL", f"http://127.0.0.1:{rasa_port}").rstrip("/"),
            rasa_url=env.get("RASA_URL", f"http://127.0.0.1:{rasa_port}").rstrip("/"),
            rasa_token=env.get("RASA_TOKEN", ""),
            secure_cookies=env.get("WEB_SECURE_COOKIES", "0") == "1",
        )

    def rasa_api(self) -> RasaApi:
        return RasaApi(self.rasa_url, self.rasa_token)
