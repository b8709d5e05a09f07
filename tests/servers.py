"""Start the real action server and Rasa for end-to-end tests and benchmarks."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def copy_sqlite(url: str, target) -> str:
    """A copy of a SQLite database for one test module; returns its URL. SQLite's backup
    API copies committed pages, including those still in the WAL file."""
    source = sqlite3.connect(url.removeprefix("sqlite:///"))
    dest = sqlite3.connect(target)
    with dest:
        source.backup(dest)
    source.close()
    dest.close()
    return f"sqlite:///{target}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Servers:
    rasa_url: str
    action_url: str
    process: subprocess.Popen
    log: Path
    web_url: str = ""
    rasa_token: str = ""

    def say(self, sender: str, message: str, timeout: float = 60) -> list[dict]:
        return post(f"{self.rasa_url}/webhooks/rest/webhook", {"sender": sender, "message": message}, timeout)

    def parse(self, text: str) -> dict:
        return post(f"{self.rasa_url}/model/parse?token={self.rasa_token}", {"text": text})


def post(url: str, body: dict, timeout: float = 60) -> list | dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def running(database_url: str, log: Path, action_endpoint: str | None = None,
            extra_env: dict[str, str] | None = None, timeout: float = 240) -> Iterator[Servers]:
    """scripts/serve.sh on free ports; stopped (whole process group) afterwards."""
    rasa_port, action_port, web_port = free_port(), free_port(), free_port()
    token = f"test-token-{os.getpid()}"
    env = dict(os.environ, DATABASE_URL=database_url, RASA_PORT=str(rasa_port), ACTION_PORT=str(action_port),
               WEB_PORT=str(web_port), RASA_TOKEN=token, BIND="127.0.0.1", LOG_DIR=str(log.parent),
               **(extra_env or {}))
    if action_endpoint:
        env["ACTION_ENDPOINT_URL"] = action_endpoint
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        proc = subprocess.Popen([str(ROOT / "scripts" / "serve.sh")], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    servers = Servers(f"http://127.0.0.1:{rasa_port}", f"http://127.0.0.1:{action_port}", proc, log,
                      f"http://127.0.0.1:{web_port}", env["RASA_TOKEN"])
    try:
        deadline = time.monotonic() + timeout
        while not (_up(f"{servers.rasa_url}/status?token={servers.rasa_token}") and _up(f"{servers.web_url}/healthz")
                   and (action_endpoint or _up(f"{servers.action_url}/health"))):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"servers did not start; log:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield servers
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
