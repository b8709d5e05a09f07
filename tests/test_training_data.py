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


CATALOG_DEV = EVAL / "catalog_dev" / "catalog.csv"
# Where the assistant's own words, rules and tests live: none of them may be written around
# the development catalog, which is there to measure how the assistant does on a catalog
# it was not built for.
GUARDED = ("data", "domain.yml", "catalog", "actions", "tests/test_stories.yml", "tests/test_resolution_feeds.py")
TEXT_SUFFIXES = {".py", ".yml", ".yaml", ".md", ".txt", ".json", ".csv", ".html", ".j2", ".js", ".css", ".cfg", ".toml"}


def guarded_files() -> list:
    files = []
    for name in GUARDED:
        path = ROOT / name
        files += [p for p in path.rglob("*") if p.is_file() and p.suffix in TEXT_SUFFIXES] if path.is_dir() else [path]
    return files


@pytest.mark.skipif(not CATALOG_DEV.exists(), reason="../shared/eval/catalog_dev is not beside this checkout")
def test_no_development_catalog_brand_or_title_is_in_the_assistant():
    with CATALOG_DEV.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    brands = sorted({r["brand"].strip().lower() for r in rows if (r.get("brand") or "").strip()})
    titles = {r["title"].strip().lower() for r in rows}
    assert len(brands) > 50 and len(titles) > 300
    brand = re.compile(r"(?<![a-z0-9])(" + "|".join(re.escape(b) for b in brands) + r")(?![a-z0-9])")
    leaks = []
    files = guarded_files()
    assert len(files) > 50
    for path in files:
        text = path.read_text(encoding="utf-8", errors="ignore").lower()
        leaks += [(str(path.relative_to(ROOT)), m.group(1)) for m in brand.finditer(text)]
        leaks += [(str(path.relative_to(ROOT)), t) for t in titles if t in text]
    assert leaks == []
