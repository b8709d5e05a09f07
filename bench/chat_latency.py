"""REST latency of a stock question and of a greeting, in the same run.

Sequential, then 16 concurrent conversations. Goal: the stock question's p95 at most
1.5 times the greeting's (the database and product search must not be what shoppers
wait for).
"""
from __future__ import annotations

import argparse
import random
import tempfile
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import select

from catalog.db.migrate import upgrade
from catalog.db.orm import Product, Variant
from catalog.services.seeding import seed_demo_store
from catalog.uow import UnitOfWork
from catalog.wording.errors import ACTION_SERVER_DOWN, TECHNICAL_PROBLEM
from tests.servers import running

GREETINGS = ["hi", "hello there", "hey", "good morning", "hi, anyone there?"]


def stock_questions(url: str, n: int, rng: random.Random) -> list[str]:
    with UnitOfWork(url) as uow:
        skus = uow.session.execute(select(Variant.sku)).scalars().all()
        titles = uow.session.execute(select(Product.title)).scalars().all()
    forms = ["is {} in stock?", "do you have the {}?", "any {} available?", "when will the {} be back?"]
    return [rng.choice(forms).format(rng.choice(skus) if i % 2 else rng.choice(titles).lower()) for i in range(n)]


def answered(replies: list[dict]) -> list[dict]:
    """The replies, after checking they are answers: a latency of apologies measures nothing."""
    said = " ".join(r.get("text") or "" for r in replies)
    if not replies or ACTION_SERVER_DOWN in said or TECHNICAL_PROBLEM in said:
        raise SystemExit(f"the servers did not answer (so nothing to time): {said[:200]!r}")
    return replies


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


def report(label: str, stock: list[float], greet: list[float]) -> None:
    s95, g95 = pct(stock, 95), pct(greet, 95)
    print(f"  {label:28s} stock p50 {pct(stock, 50):6.0f} ms  p95 {s95:6.0f} ms | "
          f"greeting p50 {pct(greet, 50):6.0f} ms  p95 {g95:6.0f} ms | ratio p95 {s95 / g95:4.2f} (goal <= 1.5)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=120, help="per kind, sequential")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--per-client", type=int, default=12)
    args = parser.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/catalog.db"
        upgrade(url)
        seed_demo_store(UnitOfWork(url), __import__("datetime").date.today())
        with running(url, Path(tmp) / "servers.log") as servers:
            questions = stock_questions(url, args.messages + args.clients * args.per_client, rng)
            for q in questions[:10]:  # warm-up: caches, JIT-free but lazy imports
                servers.say(f"warm-{uuid.uuid4().hex[:6]}", q)
                servers.say(f"warm-{uuid.uuid4().hex[:6]}", "hi")

            stock, greet = [], []
            for i in range(args.messages):  # interleaved, so both see the same machine state
                for kind, text, out in (("s", questions[i], stock), ("g", rng.choice(GREETINGS), greet)):
                    start = time.perf_counter()
                    answered(servers.say(f"seq-{kind}-{i}", text))
                    out.append(time.perf_counter() - start)
            print(f"chat latency over REST ({args.messages} of each, sequential; "
                  f"{args.clients} concurrent conversations x {args.per_client} messages)")
            report("sequential", stock, greet)

            cstock, cgreet, lock = [], [], threading.Lock()
            failures: list[str] = []
            pool = questions[args.messages:]

            def conversation(c: int) -> None:
                sender = f"conc-{c}-{uuid.uuid4().hex[:6]}"
                for j in range(args.per_client):
                    is_stock = (j + c) % 2 == 0
                    text = pool[c * args.per_client + j] if is_stock else GREETINGS[j % len(GREETINGS)]
                    start = time.perf_counter()
                    try:
                        answered(servers.say(sender, text))
                    except SystemExit as e:  # a thread cannot stop the bench: the main thread does
                        failures.append(str(e))
                        return
                    with lock:
                        (cstock if is_stock else cgreet).append(time.perf_counter() - start)

            threads = [threading.Thread(target=conversation, args=(c,)) for c in range(args.clients)]
            wall = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if failures:
                raise SystemExit(failures[0])
            wall = time.perf_counter() - wall
            report(f"{args.clients} concurrent", cstock, cgreet)
            total = len(cstock) + len(cgreet)
            print(f"  throughput under concurrency: {total / wall:.1f} messages/s")


if __name__ == "__main__":
    main()
