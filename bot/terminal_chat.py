"""Chat with the assistant in the terminal, over Rasa's REST channel like any client."""
from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
import uuid


def send(url: str, sender: str, message: str, timeout: float = 30) -> list[dict]:
    body = json.dumps({"sender": sender, "message": message}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"[]")


def show(messages: list[dict]) -> list[dict]:
    """Print replies; return the buttons so the shopper can pick one by number."""
    buttons: list[dict] = []
    for m in messages:
        if m.get("text"):
            print(f"bot> {m['text']}")
        if m.get("image"):
            print(f"bot> [image] {m['image']}")
        for b in m.get("buttons") or []:
            buttons.append(b)
            print(f"     [{len(buttons)}] {b.get('title')}")
    return buttons


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:5005/webhooks/rest/webhook")
    args = parser.parse_args()
    sender = f"terminal-{uuid.uuid4().hex[:8]}"
    print("Chat with the stock assistant. Type a question (e.g. \"is the trail runner in stock?\");"
          " a number picks a button; Ctrl-D or /quit to leave.")
    buttons: list[dict] = []
    while True:
        try:
            text = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if text in {"/quit", "/exit"}:
            return 0
        if text.isdigit() and buttons and 1 <= int(text) <= len(buttons):
            text = buttons[int(text) - 1]["payload"]
        try:
            buttons = show(send(args.url, sender, text))
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            print(f"bot> (the assistant is not reachable right now: {exc}; is it still running?)", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
