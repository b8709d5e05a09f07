#!/usr/bin/env python
"""Parse messages with the trained NLU model and write what it read, one JSON line each:
{"text", "intent", "confidence", "entities": [{"entity", "value", "start", "end"}]}.

For evaluations that run in the action server's environment (eval/catalog_dev_stock.py
--parses) but need what the live model makes of each message. Runs in the Rasa
environment; reads a JSON Lines file with a "text" field per line (or plain text lines).

Usage: .venv-rasa/bin/python eval/parse_messages.py INPUT OUTPUT [--model models/]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "eval"))

from nlu_eval import resolve_model  # noqa: E402


def texts_of(path: Path) -> list[str]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line:
            out.append(json.loads(line)["text"] if line.startswith("{") else line)
    return out


async def parse_all(model: str, texts: list[str]) -> list[dict]:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    out = []
    for text in texts:
        parsed = await agent.parse_message(text)
        intent = parsed.get("intent") or {}
        out.append({
            "text": text, "intent": intent.get("name"), "confidence": round(float(intent.get("confidence") or 0), 4),
            "entities": [{k: e.get(k) for k in ("entity", "value", "start", "end")} for e in parsed.get("entities", [])],
        })
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("input", type=Path)
    ap.add_argument("output", type=Path)
    ap.add_argument("--model", default="models/")
    args = ap.parse_args()
    if not args.input.exists():
        print(f"no {args.input}; nothing to parse")
        return 0
    logging.basicConfig(level=logging.WARNING)
    parses = asyncio.run(parse_all(resolve_model(args.model), texts_of(args.input)))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in parses), encoding="utf-8")
    print(f"{len(parses)} parses written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
