"""Start the real servers for end-to-end tests and benchmarks: all of them (scripts/serve.sh),
or Rasa alone."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
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
INDEX_FILES = (".faiss", ".faiss.json", ".subs.faiss", ".subs.faiss.json")  # beside a SQLite file


def copy_sqlite(url: str, target) -> str:
    """A copy of a SQLite database (and of the search indexes beside it, so nothing is
    embedded again); returns its URL. SQLite's backup API copies committed pages,
    including those still in the WAL file."""
    source_path, target = Path(url.removeprefix("sqlite:///")), Path(target)
    source = sqlite3.connect(source_path)
    dest = sqlite3.connect(target)
    with dest:
        source.backup(dest)
    source.close()
    dest.close()
    for suffix in INDEX_FILES:
        index = source_path.with_suffix(suffix)
        if index.exists():
            shutil.copy2(index, target.with_suffix(suffix))
    return f"sqlite:///{target}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Servers:
    rasa_url: str
    action_url: str
    process: subprocess.Popen | None
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


def wait_until(predicate, timeout: float, what: str, every: float = 0.2):
    """Poll `predicate` until it returns something true (returned), or fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def running(database_url: str, log: Path, extra_env: dict[str, str] | None = None,
            timeout: float = 240) -> Iterator[Servers]:
    """scripts/serve.sh on free ports; stopped (whole process group) afterwards."""
    rasa_port, action_port, web_port = free_port(), free_port(), free_port()
    env = dict(os.environ, DATABASE_URL=database_url, RASA_PORT=str(rasa_port), ACTION_PORT=str(action_port),
               WEB_PORT=str(web_port), RASA_TOKEN=f"test-token-{os.getpid()}", BIND="127.0.0.1",
               LOG_DIR=str(log.parent), **(extra_env or {}))
    servers = Servers(f"http://127.0.0.1:{rasa_port}", f"http://127.0.0.1:{action_port}", None, log,
                      f"http://127.0.0.1:{web_port}", env["RASA_TOKEN"])
    with _started([str(ROOT / "scripts" / "serve.sh")], env, log, timeout, servers,
                  f"{servers.rasa_url}/status?token={servers.rasa_token}", f"{servers.web_url}/healthz",
                  f"{servers.action_url}/health"):
        yield servers


@contextlib.contextmanager
def rasa_only(action_endpoint: str, log: Path, timeout: float = 240) -> Iterator[Servers]:
    """Rasa alone (with bot/rasa_server.py's fixes), calling its actions at `action_endpoint`:
    for what Rasa does when the action server is down or misbehaves."""
    port = free_port()
    token = f"test-token-{os.getpid()}"
    env = dict(os.environ, ACTION_ENDPOINT_URL=action_endpoint, RASA_TELEMETRY_ENABLED="false", PYTHONPATH=str(ROOT))
    command = [str(ROOT / ".venv-rasa" / "bin" / "python"), "-m", "bot.rasa_server", "run", "--enable-api",
               "--auth-token", token, "-i", "127.0.0.1", "-p", str(port), "--model", "models/stockout.tar.gz",
               "--endpoints", "endpoints.yml", "--credentials", "credentials.yml"]
    servers = Servers(f"http://127.0.0.1:{port}", action_endpoint, None, log, "", token)
    with _started(command, env, log, timeout, servers, f"{servers.rasa_url}/status?token={token}"):
        yield servers


@contextlib.contextmanager
def _started(command: list[str], env: dict[str, str], log: Path, timeout: float, servers: Servers,
             *ready: str) -> Iterator[None]:
    """Run `command` in a process group until every `ready` address answers; stop the whole
    group afterwards."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    servers.process = proc
    try:
        deadline = time.monotonic() + timeout
        while not all(_up(url) for url in ready):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"servers did not start; log:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
