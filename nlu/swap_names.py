"""Copy test stories with every product name swapped for an unseen invented one.

The dialogue tests then show that what the assistant understands does not hang on the
product names it was trained or tested with: the same stories must pass with names no
training example holds (generated with a seed the training data does not use, and checked
against every training name).

    python -m nlu.swap_names tests/test_stories.yml results/stories/swapped.yml
"""
from __future__ import annotations

import random
import re
import sys
from pathlib import Path

from nlu import invented
from nlu.generate_training import PRODUCT, REPO, SEED

SWAP_SEED = SEED + 1
ENTITY_LINE = re.compile(r"^(\s*- product:\s*)(.+?)\s*$")
MARKUP = re.compile(r"\[([^\]]+)\]\([^)]+\)")


def training_names() -> set[str]:
    names: set[str] = set()
    for path in (REPO / "data").rglob("*.yml"):
        names.update(m.group(1).lower() for m in PRODUCT.finditer(path.read_text(encoding="utf-8")))
    return names


def swap(text: str, seed: int = SWAP_SEED) -> str:
    """The stories with each distinct product name replaced, the same way everywhere."""
    taken = training_names()
    fresh = (n for n in invented.names(5000, seed) if n.lower() not in taken)
    mapping: dict[str, str] = {}
    rng = random.Random(seed)

    def new_name(old: str) -> str:
        if old.lower() not in mapping:
            mapping[old.lower()] = next(fresh)
            next(fresh) if rng.random() < 0.5 else None  # vary which shapes meet which stories
        return mapping[old.lower()]

    out = []
    for line in text.splitlines(keepends=True):
        line = PRODUCT.sub(lambda m: f"[{new_name(m.group(1))}](product)", line)
        m = ENTITY_LINE.match(line.rstrip("\n"))
        if m:
            line = f'{m.group(1)}"{new_name(m.group(2).strip().strip(chr(34)))}"\n'
        out.append(line)
    return "".join(out)


def story_messages(stories: str) -> list[tuple[str, str, bool]]:
    """(user text without entity markup, intent, whether it names a product) of every user
    step of a test-stories file: what the name-swap test and `make eval` parse."""
    import yaml

    out = []
    for story in (yaml.safe_load(stories) or {}).get("stories", []):
        for step in story.get("steps", []):
            if "user" in step and "intent" in step:
                text = str(step["user"]).strip()
                out.append((MARKUP.sub(r"\1", text), step["intent"], bool(PRODUCT.search(text))))
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    source, target = Path(argv[0]), Path(argv[1])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(swap(source.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"{target}: product names swapped for invented ones")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
