"""A local server that speaks the Telegram Bot API methods the bridge and the sender use.

Telegram cannot be reached from the test machine, so python-telegram-bot is pointed at
this server (`base_url`). It keeps what a real Bot API server keeps that tests need to
see: queued updates for getUpdates (long polling, offsets), the webhook set, every
message sent with its time, callback answers and edited keyboards. Faults can be
injected: 429 with retry_after, 5xx, chats that blocked the bot (403). Rate limits are
checked against Telegram's published ones (about 30 messages a second in all, one a
second per chat) and violations recorded.
"""
from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

GLOBAL_PER_SECOND = 30
MARKDOWN_V2_RESERVED = set("_*[]()~`>#+-=|{}.!")
PER_CHAT_INTERVAL = 1.0  # seconds between two messages to one chat


@dataclass
class Sent:
    method: str
    chat_id: int
    params: dict[str, Any]
    at: float
    message_id: int

    @property
    def raw_text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def text(self) -> str:
        """What the user sees: MarkdownV2 escapes removed."""
        raw = self.raw_text
        if self.params.get("parse_mode") != "MarkdownV2":
            return raw
        return re.sub(r"\\(.)", r"\1", raw)

    @property
    def buttons(self) -> list[dict]:
        markup = self.params.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]


@dataclass
class Faults:
    """Faults for the next matching sends: each entry is used once."""

    queue: deque = field(default_factory=deque)  # ("429", retry_after, chat|None) | ("5xx", status, chat|None)


class FakeTelegram:
    def __init__(self, token: str = "123456:TEST-TOKEN", check_limits: bool = True) -> None:
        self.token = token
        self.check_limits = check_limits
        self._lock = threading.Condition()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self.updates: list[dict] = []
        self.sent: list[Sent] = []
        self.rejected: list[tuple[str, int, str]] = []  # (method, chat_id, why) answered with an error
        self.callback_answers: list[dict] = []
        self.edited_markups: list[dict] = []
        self.webhook: dict[str, Any] | None = None
        self.blocked_chats: set[int] = set()
        self.faults = Faults()
        self.violations: list[str] = []
        self.calls: dict[str, int] = defaultdict(int)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ life cycle
    def start(self) -> FakeTelegram:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                fake._handle(self)

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """For python-telegram-bot's `base_url` (it appends the token and the method)."""
        return f"http://127.0.0.1:{self.port}/bot"

    # ------------------------------------------------------------------ what tests do
    def push_message(self, chat_id: int, text: str, user_id: int | None = None, first_name: str = "Ana") -> int:
        user = {"id": user_id or chat_id, "is_bot": False, "first_name": first_name}
        message = {"message_id": next(self._message_ids), "date": int(time.time()), "text": text,
                   "chat": {"id": chat_id, "type": "private", "first_name": first_name}, "from": user}
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._push({"message": message})

    def push_callback(self, chat_id: int, data: str, message_id: int, user_id: int | None = None) -> int:
        user = {"id": user_id or chat_id, "is_bot": False, "first_name": "Ana"}
        message = {"message_id": message_id, "date": int(time.time()), "text": "(buttons)",
                   "chat": {"id": chat_id, "type": "private"}, "from": {"id": 1, "is_bot": True, "first_name": "Shop"}}
        return self._push({"callback_query": {"id": f"cb{next(self._update_ids)}", "from": user, "chat_instance": "ci",
                                              "data": data, "message": message}})

    def update_json(self, chat_id: int, text: str) -> dict:
        """An update as Telegram would POST it to a webhook (not queued here)."""
        return {"update_id": next(self._update_ids), "message": {
            "message_id": next(self._message_ids), "date": int(time.time()), "text": text,
            "chat": {"id": chat_id, "type": "private"}, "from": {"id": chat_id, "is_bot": False, "first_name": "Ana"}}}

    def inject_429(self, times: int = 1, retry_after: int = 1, chat_id: int | None = None) -> None:
        with self._lock:
            self.faults.queue.extend([("429", retry_after, chat_id)] * times)

    def inject_5xx(self, times: int = 1, status: int = 502, chat_id: int | None = None) -> None:
        with self._lock:
            self.faults.queue.extend([("5xx", status, chat_id)] * times)

    def messages_to(self, chat_id: int) -> list[Sent]:
        with self._lock:
            return [s for s in self.sent if s.chat_id == chat_id]

    def wait_for(self, predicate, timeout: float = 30.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = predicate()
                if found:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what}; sent so far: "
                                         f"{[(s.chat_id, s.text[:60]) for s in self.sent[-10:]]}")
                self._lock.wait(min(left, 0.2))

    # ------------------------------------------------------------------ the server
    def _push(self, body: dict) -> int:
        with self._lock:
            update_id = next(self._update_ids)
            self.updates.append({"update_id": update_id, **body})
            self._lock.notify_all()
            return update_id

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        prefix = f"/bot{self.token}/"
        if not request.path.startswith(prefix):
            return self._reply(request, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
        method = request.path[len(prefix):]
        params = self._params(request)
        with self._lock:
            self.calls[method] += 1
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return self._reply(request, 404, {"ok": False, "error_code": 404, "description": f"unknown method {method}"})
        status, body = handler(params)
        self._reply(request, status, body)

    @staticmethod
    def _params(request: BaseHTTPRequestHandler) -> dict[str, Any]:
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        ctype = request.headers.get("Content-Type", "")
        values: dict[str, str] = {}
        if ctype.startswith("application/json"):
            return json.loads(raw or b"{}")
        if ctype.startswith("multipart/form-data"):
            msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + raw)
            for part in msg.iter_parts():
                name = part.get_param("name", header="content-disposition")
                values[name] = part.get_payload(decode=True).decode("utf-8", "replace")
        else:
            values = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        out: dict[str, Any] = {}
        for k, v in values.items():  # python-telegram-bot JSON-encodes non-string parameters
            try:
                out[k] = json.loads(v) if v[:1] in "{[" or k in ("chat_id", "offset", "timeout", "limit",
                                                                  "message_id") else v
            except ValueError:
                out[k] = v
        return out

    @staticmethod
    def _reply(request: BaseHTTPRequestHandler, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    @staticmethod
    def _ok(result: Any) -> tuple[int, dict]:
        return 200, {"ok": True, "result": result}

    # ------------------------------------------------------------------ methods
    def _m_getMe(self, params: dict) -> tuple[int, dict]:  # noqa: N802
        return self._ok({"id": 1, "is_bot": True, "first_name": "Shop", "username": "shop_test_bot",
                         "can_join_groups": False, "can_read_all_group_messages": False,
                         "supports_inline_queries": False})

    def _m_getUpdates(self, params: dict) -> tuple[int, dict]:  # noqa: N802
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), 5.0)
        deadline = time.monotonic() + timeout
        with self._lock:
            if self.webhook:
                return 409, {"ok": False, "error_code": 409,
                             "description": "Conflict: can't use getUpdates method while webhook is active"}
            self.updates = [u for u in self.updates if u["update_id"] >= offset]  # confirmed ones are gone
            while not self.updates and time.monotonic() < deadline:
                self._lock.wait(deadline - time.monotonic())
            return self._ok(list(self.updates[:100]))

    def _m_setWebhook(self, params: dict) -> tuple[int, dict]:  # noqa: N802
        with self._lock:
            self.webhook = dict(params) if params.get("url") else None
        return self._ok(True)

    def _m_deleteWebhook(self, params: dict) -> tuple[int, dict]:  # noqa: N802
        with self._lock:
            self.webhook = None
        return self._ok(True)

    def _m_getWebhookInfo(self, params: dict) -> tuple[int, dict]:  # noqa: N802
        with self._lock:
            return self._ok({"url": (self.webhook or {}).get("url", ""), "has_custom_certificate": False,
                             "pending_update_count": 0})

    def _m_sendMessage(self, params: dict) -> tuple[int, dict]:  # noqa: N802
        return self._send("sendMessage", params)

    def _m_sendPhoto(self, params: dict) -> tuple[int, dict]:  # noqa: N802
        return self._send("sendPhoto", params)

    def _m_sendChatAction(self, params: dict) -> tuple[int, dict]:  # noqa: N802
        return self._ok(True)

    def _m_answerCallbackQuery(self, params: dict) -> tuple[int, dict]:  # noqa: N802
        with self._lock:
            self.callback_answers.append(params)
            self._lock.notify_all()
        return self._ok(True)

    def _m_editMessageReplyMarkup(self, params: dict) -> tuple[int, dict]:  # noqa: N802
        with self._lock:
            self.edited_markups.append(params)
            self._lock.notify_all()
        return self._ok(True)

    def _send(self, method: str, params: dict) -> tuple[int, dict]:
        chat_id = int(params["chat_id"])
        now = time.monotonic()
        with self._lock:
            fault = next((f for f in self.faults.queue if f[2] in (None, chat_id)), None)
            if fault is not None:
                self.faults.queue.remove(fault)
                kind, value, _ = fault
                self.rejected.append((method, chat_id, kind))
                if kind == "429":
                    return 429, {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {value}",
                                 "parameters": {"retry_after": value}}
                return value, {"ok": False, "error_code": value, "description": "Bad Gateway"}
            if chat_id in self.blocked_chats:
                self.rejected.append((method, chat_id, "403"))
                return 403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
            problem = self._markdown_problem(params)
            if problem:
                self.rejected.append((method, chat_id, "400"))
                return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: can't parse entities: {problem}"}
            if self.check_limits:
                self._check_limits(chat_id, now)
            message_id = next(self._message_ids)
            self.sent.append(Sent(method, chat_id, params, now, message_id))
            self._lock.notify_all()
        result = {"message_id": message_id, "date": int(time.time()), "chat": {"id": chat_id, "type": "private"},
                  "from": {"id": 1, "is_bot": True, "first_name": "Shop"}}
        if method == "sendPhoto":
            result["photo"] = [{"file_id": "f1", "file_unique_id": "u1", "width": 100, "height": 100}]
            if params.get("caption"):
                result["caption"] = params["caption"]
        else:
            result["text"] = params.get("text", "")
        return self._ok(result)

    @staticmethod
    def _markdown_problem(params: dict) -> str | None:
        """Telegram refuses MarkdownV2 with a reserved character left unescaped (this bot
        formats nothing, so every reserved character must be escaped)."""
        if params.get("parse_mode") != "MarkdownV2":
            return None
        text = str(params.get("text") or params.get("caption") or "")
        i = 0
        while i < len(text):
            if text[i] == "\\":
                i += 2
                continue
            if text[i] in MARKDOWN_V2_RESERVED:
                return f"character '{text[i]}' is reserved and must be escaped at byte offset {i}"
            i += 1
        return None

    def _check_limits(self, chat_id: int, now: float) -> None:
        """Record (not refuse) sends that break the published limits: tests assert none."""
        previous = [s.at for s in self.sent if s.chat_id == chat_id]
        if previous and now - previous[-1] < PER_CHAT_INTERVAL * 0.95:
            self.violations.append(f"chat {chat_id}: {now - previous[-1]:.3f} s after the previous message")
        last_second = [s for s in self.sent if now - s.at < 1.0]
        if len(last_second) >= GLOBAL_PER_SECOND:
            self.violations.append(f"{len(last_second) + 1} messages within one second")
