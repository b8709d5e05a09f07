"""OffTopicNeighbours, trained and loaded through Rasa's own model storage, on real encoder vectors.

A message the classifier put on a shop intent is overruled when its nearest taught
examples are out of scope, and left alone when they are the shop intent's own; a request
for a person is never overruled; the component survives being saved and loaded.
"""
from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.featurizer import SentenceEncoderFeaturizer
from nlu.neighbours import OffTopicNeighbours

TAUGHT = {
    "check_stock": ["is the walnut desk lamp in stock", "do you have any steel water bottles left",
                    "any wool blankets available", "is the 2-slot toaster available now"],
    "human_handoff": ["let me talk to a person", "i need a human agent"],
    "out_of_scope": ["wake me up at six tomorrow", "set an alarm for 7 am", "remind me to call mum at noon",
                     "book a table for two at an italian place", "reserve a restaurant table tonight",
                     "what's the weather like tomorrow"],
}


def featurize(messages):
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    featurizer = SentenceEncoderFeaturizer(SentenceEncoderFeaturizer.get_default_config(),
                                           ExecutionContext(graph_schema=None, node_name="enc"))
    tokenizer.process(messages)
    featurizer.process(messages)
    return messages


def classified(text, intent, confidence=0.97):
    """A message as DIET would leave it: a confident shop intent at the top of the ranking."""
    message = featurize([Message.build(text=text)])[0]
    message.set("intent", {"name": intent, "confidence": confidence})
    message.set("intent_ranking", [{"name": intent, "confidence": confidence},
                                   {"name": "out_of_scope", "confidence": 1 - confidence}])
    return message


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    examples = [Message.build(text=t, intent=i) for i, texts in TAUGHT.items() for t in texts]
    featurize(examples)
    storage = LocalModelStorage(tmp_path_factory.mktemp("storage"))
    resource = Resource("off_topic")
    config = {**OffTopicNeighbours.get_default_config(), "neighbours": 3, "at_least": 2}
    context = ExecutionContext(graph_schema=None, node_name="off_topic")
    OffTopicNeighbours.create(config, storage, resource, context).train(TrainingData(examples))
    return OffTopicNeighbours.load(config, storage, resource, context)  # what a served model uses


def test_a_shop_intent_near_off_topic_examples_becomes_out_of_scope(trained):
    message = trained.process([classified("i want an alarm set for 6 tomorrow morning", "check_stock")])[0]
    assert message.get("intent")["name"] == "out_of_scope"
    ranking = [r["name"] for r in message.get("intent_ranking")]
    assert ranking[0] == "out_of_scope" and "check_stock" in ranking  # the fallback action still sees the guess


def test_a_real_stock_question_is_left_alone(trained):
    message = trained.process([classified("do you have the oak bedside lamp in stock?", "check_stock")])[0]
    assert message.get("intent")["name"] == "check_stock"


def test_a_request_for_a_person_is_never_overruled(trained):
    from nlu.neighbours import sentence_vector

    message = classified("a person to remind me of my table booking", "human_handoff")
    assert trained.off_topic_neighbours(sentence_vector(message))  # off-topic neighbours, yet:
    assert trained.process([message])[0].get("intent")["name"] == "human_handoff"


def test_settings_that_cannot_work_are_refused():
    with pytest.raises(InvalidConfigException):
        OffTopicNeighbours.validate_config({"neighbours": 2, "at_least": 3})
