"""The trained model's intents do not hang on product names.

Every test-story message that names a product is parsed twice: as written, and with the
name swapped for an unseen invented one (nlu/swap_names.py). Both must get the story's
intent. Runs in the Rasa environment against the trained model (MODEL, default
models/stockout.tar.gz), in `make test`'s dialogue lane.
"""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from nlu.generate_training import REPO
from nlu.swap_names import story_messages, swap

MODEL = Path(os.environ.get("MODEL", REPO / "models" / "stockout.tar.gz"))


def product_messages(stories: str) -> list[tuple[str, str]]:
    """(message without markup, expected intent) of each user step that names a product."""
    return [(text, intent) for text, intent, names_product in story_messages(stories) if names_product]


@pytest.fixture(scope="module")
def agent():
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run make model")
    from rasa.core.agent import Agent

    return Agent.load(str(MODEL))


def intents_of(agent, texts: list[str]) -> list[str]:
    async def parse_all():
        return [(await agent.parse_message(t))["intent"]["name"] for t in texts]

    return asyncio.run(parse_all())


def test_every_product_message_keeps_its_intent_when_the_names_are_swapped(agent):
    original = (REPO / "tests" / "test_stories.yml").read_text(encoding="utf-8")
    as_written = product_messages(original)
    swapped = product_messages(swap(original))
    assert len(as_written) == len(swapped) >= 10
    assert [t for t, _ in as_written] != [t for t, _ in swapped]
    expected = [i for _, i in swapped]
    assert intents_of(agent, [t for t, _ in swapped]) == expected
    assert intents_of(agent, [t for t, _ in as_written]) == expected
