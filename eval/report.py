#!/usr/bin/env python
"""One report from every evaluation `make eval` ran: reports/eval.json and a short table.

Each evaluation writes its own JSON in reports/ (the NLU one from the Rasa environment,
the catalog ones from this one); this script only gathers them, checks each number against
its goal, and prints one line per measure, so the whole picture is in one place.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REPORTS = REPO / "reports"

# measure: (report file, path of keys, goal, at least (True) / at most (False))
MEASURES: list[tuple[str, str, tuple[str, ...], float | None]] = [
    ("NLU public sets: accuracy (40 per source intent)", "nlu_eval.json", ("summary", "public_accuracy"), 0.92),
    ("NLU public sets: business precision", "nlu_eval.json", ("summary", "public_business_precision"), 0.95),
    ("NLU Bitext accuracy", "nlu_eval.json", ("summary", "bitext_accuracy"), None),
    ("NLU CLINC150 accuracy", "nlu_eval.json", ("summary", "clinc150_accuracy"), None),
    ("NLU CLINC out-of-scope kept out", "nlu_eval.json", ("summary", "clinc150_oos_kept_out_of_business"), None),
    ("NLU own held-out: accuracy", "nlu_eval.json", ("summary", "heldout_accuracy"), 0.92),
    ("NLU own held-out: business precision", "nlu_eval.json", ("summary", "heldout_business_precision"), 0.95),
    ("NLU public sets, _other pooled: accuracy", "nlu_eval_pooled.json", ("summary", "public_accuracy"), None),
    ("NLU public sets, _other pooled: business precision", "nlu_eval_pooled.json",
     ("summary", "public_business_precision"), None),
    ("Stock answers on catalog_dev (NLU parses)", "catalog_dev_stock.json", ("accuracy",), 0.95),
    ("Substitutes catalog_dev: precision@1", "catalog_dev_substitutes.json", ("p_at_1",), None),
    ("Substitutes catalog_dev: precision@3", "catalog_dev_substitutes.json", ("p_at_3",), 0.90),
    ("Substitutes catalog_dev: coverage", "catalog_dev_substitutes.json", ("coverage",), 0.95),
    ("Substitutes catalog_dev: confusable shown", "catalog_dev_substitutes.json", ("confusable_suggestions",), 0),
    ("Substitutes demo store: precision@1", "substitutes_eval.json", ("demo_store", "p_at_1"), None),
    ("Substitutes demo store: precision@3", "substitutes_eval.json", ("demo_store", "p_at_3"), 0.90),
    ("Substitutes demo store: coverage", "substitutes_eval.json", ("demo_store", "coverage"), 0.95),
    ("Substitutes demo store: confusable shown", "substitutes_eval.json", ("demo_store", "confusable_suggestions"), 0),
]


def pick(data: dict, path: tuple[str, ...]):
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def main() -> int:
    loaded: dict[str, dict] = {}
    for _, name, _, _ in MEASURES:
        path = REPORTS / name
        if name not in loaded and path.exists():
            loaded[name] = json.loads(path.read_text(encoding="utf-8"))
    rows = []
    for label, name, path, goal in MEASURES:
        value = pick(loaded.get(name, {}), path)
        if goal is None or value is None:
            met = None
        elif goal == 0:
            met = value == 0
        else:
            met = value >= goal
        rows.append({"measure": label, "value": value, "goal": goal, "met": met, "source": f"reports/{name}"})
    swap = pick(loaded.get("nlu_eval.json", {}), ("name_swap", "swapped"))
    if swap:
        rows.insert(7, {"measure": "Story messages naming a product, names swapped: right",
                        "value": f"{swap['naming_a_product_right']}/{swap['naming_a_product']}", "goal": "all",
                        "met": swap["naming_a_product_right"] == swap["naming_a_product"],
                        "source": "reports/nlu_eval.json"})
        rows.insert(8, {"measure": "All story messages, names swapped: intents right",
                        "value": f"{swap['correct']}/{swap['n']}", "goal": None, "met": None,
                        "source": "reports/nlu_eval.json"})
    (REPORTS / "eval.json").write_text(json.dumps({"measures": rows, "reports": loaded}, indent=1), encoding="utf-8")
    print(f"\n{'measure':52} {'value':>9} {'goal':>6}")
    for r in rows:
        v = r["value"]
        shown = "-" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))
        goal = "" if r["goal"] is None else str(r["goal"])
        mark = {True: "ok", False: "BELOW", None: ""}[r["met"]]
        print(f"{r['measure']:52} {shown:>9} {goal:>6} {mark}")
    print("\nwritten: reports/eval.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
