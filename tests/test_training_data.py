"""The public evaluation sets must never leak into the training data."""
from __future__ import annotations

import csv
import json
import re

import pytest
import yaml

from tests.conftest import ROOT

EVAL = ROOT.parent / "shared" / "eval"
ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]+\)|\{[^}]+\})")


def training_examples() -> list[str]:
    examples = []
    for path in (ROOT / "data" / "nlu").glob("*.yml"):
        for item in (yaml.safe_load(path.read_text()) or {}).get("nlu", []):
            for line in (item.get("examples") or "").splitlines():
                text = ANNOTATION.sub(r"\1", line.strip().removeprefix("- ")).strip().lower()
                if text:
                    examples.append(text)
    return examples


@pytest.mark.skipif(not EVAL.exists(), reason="../shared/eval is not beside this checkout")
def test_no_evaluation_message_is_a_training_example():
    held_out = set()
    with (EVAL / "bitext" / "Bitext_Sample_Customer_Service_Training_Dataset.csv").open(encoding="utf-8-sig") as fh:
        held_out |= {row["utterance"].strip().lower() for row in csv.DictReader(fh)}
    clinc = json.loads((EVAL / "clinc150" / "clinc150_test.json").read_text())
    held_out |= {text.strip().lower() for split in clinc.values() for text, _ in split}
    examples = training_examples()
    assert len(examples) > 1000
    assert sorted(set(examples) & held_out) == []
