"""Invented product names: training data generated from them stays in step with the data,
and the name-swap stories use names no training example holds."""
from __future__ import annotations

import re

from nlu import generate_training, invented, swap_names
from tests.conftest import ROOT


def test_generated_training_file_is_up_to_date():
    assert generate_training.main(["--check"]) == 0, "run: python -m nlu.generate_training"


def test_invented_names_are_seeded_varied_and_feed_like():
    names = invented.names(400, 7, chat=False)
    assert names == invented.names(400, 7, chat=False)
    assert len({n.lower() for n in names}) == 400
    assert sum("|" in n for n in names) > 20  # pipes
    assert sum(bool(re.search(r"\b[A-Z]{2,}\b", n)) for n in names) > 40  # capitals
    assert sum(" for " in n for n in names) > 20  # accessories for a device


def test_swapped_stories_keep_structure_and_use_unseen_names():
    original = (ROOT / "tests" / "test_stories.yml").read_text(encoding="utf-8")
    swapped = swap_names.swap(original)
    assert swapped.count("\n") == original.count("\n")
    old = {m.group(1).lower() for m in generate_training.PRODUCT.finditer(original)}
    new = {m.group(1).lower() for m in generate_training.PRODUCT.finditer(swapped)}
    assert len(new) == len(old) > 5
    assert not new & swap_names.training_names()
    for line_o, line_s in zip(original.splitlines(), swapped.splitlines()):
        if "](product)" not in line_o and "- product:" not in line_o:
            assert line_o == line_s
