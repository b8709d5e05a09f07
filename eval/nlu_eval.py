#!/usr/bin/env python
"""Measure the assistant's NLU on the public evaluation sets in shared/eval.

Loads a trained Rasa model in-process and classifies every Bitext and CLINC150 message,
then scores the predictions with shared/eval/mapping.json (which of our intents count as a
correct answer for each source intent; `_other` covers every source intent not listed).

The evaluation data is for measuring only: never copy or paraphrase it into training data.

Usage (from the repository root):
    .venv-rasa/bin/python eval/nlu_eval.py --model models/ [--shared ../shared/eval]
        [--report reports/nlu_eval.json] [--limit N] [--show-errors N]
"""
import argparse
import asyncio
import collections
import csv
import json
import logging
import os
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the model names our own components (nlu.featurizer)

BUSINESS_INTENTS = [
    "check_stock", "ask_restock_date", "subscribe_restock", "unsubscribe_restock",
    "request_preorder", "ask_substitute", "order_status", "cancel_order",
    "request_refund", "request_store_credit", "ask_policy", "human_handoff",
    "show_my_requests", "change_reservation", "cancel_reservation",
]


def load_bitext(shared: Path):
    path = next((shared / "bitext").glob("*.csv"))
    with open(path, encoding="utf-8-sig", newline="") as f:
        return [(r["utterance"].strip(), r["intent"].strip()) for r in csv.DictReader(f)]


def load_clinc(shared: Path):
    data = json.loads((shared / "clinc150" / "clinc150_test.json").read_text())
    return [(t, i) for t, i in data["test"]] + [(t, i) for t, i in data["oos_test"]]


def resolve_model(path: str) -> str:
    p = Path(path)
    if not p.is_absolute():
        p = (Path.cwd() / p) if (Path.cwd() / p).exists() else REPO / p
    if p.is_dir():
        models = sorted(p.glob("*.tar.gz"), key=lambda m: m.stat().st_mtime)
        if not models:
            sys.exit(f"no *.tar.gz model in {p}")
        return str(models[-1])
    return str(p)


class Parser:
    """Classifies messages in batches through the model's NLU graph (fast), falling back to
    Agent.parse_message one by one if the batch route is unavailable."""

    def __init__(self, model_path: str):
        from rasa.core.agent import Agent

        self.agent = Agent.load(model_path)
        self.processor = self.agent.processor
        self.raw = []  # top intent before FallbackClassifier, for --sweep

    def parse_batch(self, texts):
        """(intent, confidence) of each text; the top intent before the fallback goes to raw."""
        res = []
        for p in self.parse_full(texts):
            ranking = [r for r in p["ranking"] if r["name"] != "nlu_fallback"]
            top = ranking[0] if ranking else {"name": p["intent"], "confidence": p["confidence"]}
            self.raw.append((top["name"], float(top["confidence"])))
            res.append((p["intent"], p["confidence"]))
        return res

    def parse_full(self, texts, batch=256):
        """Intent, confidence and entities for each text (for the stock-answer evaluation)."""
        from rasa.core.channels.channel import UserMessage
        from rasa.shared.core.trackers import DialogueStateTracker
        from rasa.core.processor import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
        tracker = DialogueStateTracker.from_events("nlu-eval", [])
        target = self.processor.model_metadata.nlu_target
        out = []
        for i in range(0, len(texts), batch):
            msgs = [UserMessage(t, sender_id="nlu-eval") for t in texts[i:i + batch]]
            for m in self.processor.graph_runner.run(
                    inputs={PLACEHOLDER_MESSAGE: msgs, PLACEHOLDER_TRACKER: tracker}, targets=[target])[target]:
                intent = m.get("intent") or {}
                out.append({"text": m.get("text"), "intent": intent.get("name"),
                            "confidence": round(float(intent.get("confidence") or 0.0), 4),
                            "ranking": [{"name": r.get("name"), "confidence": round(float(r.get("confidence") or 0), 4)}
                                        for r in (m.get("intent_ranking") or [])[:5]],
                            "entities": [{k: e.get(k) for k in ("entity", "value", "start", "end")}
                                         for e in m.get("entities") or []]})
        return out

    def parse_all(self, texts, batch=256):
        results = []
        try:
            for i in range(0, len(texts), batch):
                results.extend(self.parse_batch(texts[i:i + batch]))
            return results
        except Exception as e:  # pragma: no cover - fallback path
            logging.warning("batch parsing failed (%s); parsing one by one", e)
        loop = asyncio.new_event_loop()
        results = []
        for t in texts:
            d = loop.run_until_complete(self.agent.parse_message(t))
            results.append((d["intent"]["name"], float(d["intent"].get("confidence") or 0)))
        return results


def score(source, rows, preds, mapping, aggregate_unmapped):
    """rows: [(text, source_intent)]; preds: [(intent, confidence)]."""
    per = collections.defaultdict(lambda: {"n": 0, "correct": 0, "predicted": collections.Counter()})
    pred_count = collections.Counter()
    pred_correct = collections.Counter()
    errors = collections.defaultdict(list)
    correct_total = 0
    for (text, src), (pred, conf) in zip(rows, preds):
        accepted = mapping.get(src, mapping["_other"])
        key = src if (src in mapping or not aggregate_unmapped) else "_other"
        ok = pred in accepted
        per[key]["n"] += 1
        per[key]["correct"] += ok
        per[key]["predicted"][pred] += 1
        pred_count[pred] += 1
        pred_correct[pred] += ok
        correct_total += ok
        if not ok:
            errors[key].append((text, pred, round(conf, 3)))
    per_intent = {}
    for k, v in sorted(per.items()):
        per_intent[k] = {
            "n": v["n"],
            "accuracy": round(v["correct"] / v["n"], 4),
            "accepted": mapping.get(k, mapping["_other"]),
            "predicted": dict(v["predicted"].most_common()),
        }
    precision = {
        b: {"predicted": pred_count[b], "correct": pred_correct[b],
            "precision": (round(pred_correct[b] / pred_count[b], 4) if pred_count[b] else None)}
        for b in BUSINESS_INTENTS
    }
    return {
        "source": source,
        "n": len(rows),
        "accuracy": round(correct_total / len(rows), 4),
        "per_intent": per_intent,
        "business_precision": precision,
    }, errors, pred_count, pred_correct


def print_source(res):
    print(f"\n=== {res['source']}: overall accuracy {res['accuracy']:.1%} on {res['n']} messages")
    print(f"{'source intent':32} {'n':>5} {'acc':>7}  top predictions")
    for k, v in sorted(res["per_intent"].items(), key=lambda kv: kv[1]["accuracy"]):
        top = ", ".join(f"{p}:{c}" for p, c in list(v["predicted"].items())[:4])
        print(f"{k:32} {v['n']:>5} {v['accuracy']:>7.1%}  {top}")


def sample_per_intent(rows, n, seed=0):
    """Up to n messages of every source intent (seeded), so that no intent outweighs the rest."""
    by = collections.defaultdict(list)
    for row in rows:
        by[row[1]].append(row)
    out = []
    for intent in sorted(by):
        msgs = by[intent]
        out.extend(random.Random(f"{seed}-{intent}").sample(msgs, min(n, len(msgs))))
    return out


def sample_pooled(rows, n, mapping, seed=0):
    """Up to n messages of every mapped source intent, and n for all unmapped ones together
    (`_other` as one source intent), the reading of "per source intent" that weighs every
    label of mapping.json alike."""
    pooled = [(t, i if i in mapping else "_other") for t, i in rows]
    picked = sample_per_intent(pooled, n, seed)
    originals = {}
    for (t, i), (_, p) in zip(rows, pooled):
        originals.setdefault((t, p), i)
    return [(t, originals[(t, p)]) for t, p in picked]


def business_summary(pred_count, pred_correct):
    n = sum(pred_count[b] for b in BUSINESS_INTENTS)
    c = sum(pred_correct[b] for b in BUSINESS_INTENTS)
    return {"predicted": n, "correct": c, "precision": round(c / n, 4) if n else None}


def load_heldout(path: Path):
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(r["text"], r["intent"]) for r in rows]


def swap_test(parser):
    """The test stories' messages with every product name swapped for an unseen invented one:
    every intent must still be right."""
    from nlu.swap_names import story_messages, swap

    original = (REPO / "tests" / "test_stories.yml").read_text(encoding="utf-8")
    result = {}
    for name, text in (("original", original), ("swapped", swap(original))):
        rows = story_messages(text)
        preds = parser.parse_all([t for t, _, _ in rows])
        wrong = [(t, i, p) for (t, i, _), (p, _) in zip(rows, preds) if p != i]
        named = [(i, p) for (_, i, has), (p, _) in zip(rows, preds) if has]
        result[name] = {"n": len(rows), "correct": len(rows) - len(wrong), "wrong": wrong,
                        "naming_a_product": len(named), "naming_a_product_right": sum(i == p for i, p in named)}
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="models/", help="model file or directory (latest *.tar.gz is used)")
    ap.add_argument("--shared", default=str(REPO.parent / "shared" / "eval"), help="path to shared/eval")
    ap.add_argument("--report", default=str(REPO / "reports" / "nlu_eval.json"))
    ap.add_argument("--limit", type=int, default=0, help="random sample of N messages per source (0 = all)")
    ap.add_argument("--per-intent", type=int, default=0,
                    help="at most N messages per source intent (seeded); 0 = all")
    ap.add_argument("--pooled", action="store_true",
                    help="with --per-intent: sample the unmapped source intents together as one ('_other')")
    ap.add_argument("--heldout", default=str(REPO / "eval" / "heldout" / "messages.jsonl"),
                    help="our own labelled held-out messages (JSONL text/intent), scored separately")
    ap.add_argument("--show-errors", type=int, default=0,
                    help="print N misclassified messages per source intent (for diagnosis only)")
    ap.add_argument("--parse", nargs=2, metavar=("IN", "OUT"),
                    help="only parse the 'text' of each JSONL line of IN and write intent and entities to OUT")
    ap.add_argument("--sweep", action="store_true",
                    help="also show accuracy if FallbackClassifier's threshold were 0.4 ... 0.8")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("rasa", "tensorflow", "absl"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    shared = Path(args.shared)
    if not shared.is_absolute():
        shared = (Path.cwd() / shared) if (Path.cwd() / shared).exists() else (REPO / shared)
    mapping = json.loads((shared / "mapping.json").read_text())
    model = resolve_model(args.model)
    print(f"model: {model}\nshared: {shared}")

    t0 = time.time()
    parser = Parser(model)
    print(f"model loaded in {time.time() - t0:.1f}s")
    if args.parse:
        lines = [json.loads(x) for x in Path(args.parse[0]).read_text(encoding="utf-8").splitlines() if x.strip()]
        parsed = parser.parse_full([x["text"] for x in lines])
        Path(args.parse[1]).parent.mkdir(parents=True, exist_ok=True)
        Path(args.parse[1]).write_text("".join(json.dumps(p) + "\n" for p in parsed), encoding="utf-8")
        print(f"{len(parsed)} parses written to {args.parse[1]}")
        return

    report = {"model": os.path.basename(model), "per_intent": args.per_intent, "pooled": args.pooled,
              "sources": {}}
    all_pred_count, all_pred_correct = collections.Counter(), collections.Counter()
    n_total = n_correct = 0
    for source, rows, agg in (("bitext", load_bitext(shared), False), ("clinc150", load_clinc(shared), True)):
        if args.per_intent:
            rows = (sample_pooled(rows, args.per_intent, mapping[source]) if args.pooled
                    else sample_per_intent(rows, args.per_intent))
        elif args.limit:
            rows = random.Random(0).sample(rows, min(args.limit, len(rows)))
        t0 = time.time()
        parser.raw = []
        preds = parser.parse_all([t for t, _ in rows])
        if args.sweep and len(parser.raw) == len(preds):
            for th in (0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8):
                sim = [(i if c >= th else "nlu_fallback", c) for i, c in parser.raw]
                r, *_ = score(source, rows, sim, mapping[source], agg)
                print(f"  sweep {source} threshold {th:.2f}: accuracy {r['accuracy']:.1%}")
        res, errors, pc, pcor = score(source, rows, preds, mapping[source], agg)
        res["seconds"] = round(time.time() - t0, 1)
        res["business"] = business_summary(pc, pcor)
        all_pred_count.update(pc)
        all_pred_correct.update(pcor)
        n_total += res["n"]
        n_correct += round(res["accuracy"] * res["n"])
        if source == "clinc150":
            oos = [(p, s) for (p, _), (_, s) in zip(preds, rows) if s == "oos"]
            kept = sum(p not in BUSINESS_INTENTS for p, _ in oos)
            res["oos_kept_out_of_business"] = round(kept / len(oos), 4) if oos else None
            res["oos_predicted"] = dict(collections.Counter(p for p, _ in oos).most_common())
        report["sources"][source] = res
        print_source(res)
        if source == "clinc150":
            print(f"CLINC oos kept out of business intents: {res['oos_kept_out_of_business']:.1%}"
                  f"  (predicted: {res['oos_predicted']})")
        if args.show_errors:
            for k, errs in sorted(errors.items()):
                print(f"  -- {k}")
                for e in errs[:args.show_errors]:
                    print(f"     {e}")

    print("\n=== business intent precision (correct predictions / all predictions of the intent)")
    print(f"{'intent':24} {'bitext':>16} {'clinc150':>16} {'both':>16}")
    combined = {}
    for b in BUSINESS_INTENTS:
        cells = []
        for s in ("bitext", "clinc150"):
            p = report["sources"][s]["business_precision"][b]
            cells.append(f"{p['precision']:.1%} ({p['predicted']})" if p["predicted"] else "- (0)")
        n, c = all_pred_count[b], all_pred_correct[b]
        combined[b] = {"predicted": n, "correct": c, "precision": round(c / n, 4) if n else None}
        cells.append(f"{c / n:.1%} ({n})" if n else "- (0)")
        print(f"{b:24} " + " ".join(f"{x:>16}" for x in cells))
    report["business_precision_combined"] = combined

    heldout = None
    hpath = Path(args.heldout)
    if hpath.is_file():
        rows = load_heldout(hpath)
        preds = parser.parse_all([t for t, _ in rows])
        accepted = {i: [i] for _, i in rows}
        accepted["out_of_scope"] = ["out_of_scope", "nlu_fallback"]
        hm = {**accepted, "_other": ["out_of_scope", "nlu_fallback"]}
        res, errors, pc, pcor = score("heldout", rows, preds, hm, False)
        res["business"] = business_summary(pc, pcor)
        heldout = res
        report["sources"]["heldout"] = res
        print_source(res)
        if args.show_errors:
            for k, errs in sorted(errors.items()):
                for e in errs[:args.show_errors]:
                    print(f"  -- {k}: {e}")

    swapped = swap_test(parser)
    report["name_swap"] = swapped
    for name, r in swapped.items():
        print(f"\n=== test stories, {name} product names: {r['correct']}/{r['n']} intents right; of the "
              f"messages naming a product {r['naming_a_product_right']}/{r['naming_a_product']}")
        for t, i, p in r["wrong"]:
            print(f"  {t!r}: expected {i}, got {p}")

    public_business = business_summary(all_pred_count, all_pred_correct)
    report["summary"] = {
        "public_accuracy": round(n_correct / n_total, 4),
        "public_business_precision": public_business["precision"],
        "bitext_accuracy": report["sources"]["bitext"]["accuracy"],
        "clinc150_accuracy": report["sources"]["clinc150"]["accuracy"],
        "clinc150_oos_kept_out_of_business": report["sources"]["clinc150"]["oos_kept_out_of_business"],
        "heldout_accuracy": heldout["accuracy"] if heldout else None,
        "name_swap_intents_right": f"{swapped['swapped']['correct']}/{swapped['swapped']['n']}",
        "heldout_business_precision": heldout["business"]["precision"] if heldout else None,
        "goals": {"public_accuracy": 0.92, "public_business_precision": 0.95,
                  "heldout_accuracy": 0.92, "heldout_business_precision": 0.95},
    }
    s = report["summary"]
    print(f"\nSUMMARY public ({n_total} msgs) accuracy {s['public_accuracy']:.1%} business precision "
          f"{s['public_business_precision']:.1%} | bitext {s['bitext_accuracy']:.1%} | clinc150 "
          f"{s['clinc150_accuracy']:.1%} | clinc oos kept out {s['clinc150_oos_kept_out_of_business']:.1%}"
          + (f" | held-out accuracy {s['heldout_accuracy']:.1%} business precision "
             f"{s['heldout_business_precision'] or 0:.1%}" if heldout else ""))
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(json.dumps(report, indent=1))
    print(f"report written to {args.report}")


if __name__ == "__main__":
    main()
