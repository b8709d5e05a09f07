"""The NLU's own components, run in the Rasa environment (Python 3.10).

The encoder must give the vectors sentence-transformers gives for all-MiniLM-L6-v2 (the
action server's embedder, in the other environment, is the reference: it is checked there
by comparing against numbers saved here), and the featurizer must put one vector on each
Rasa token and one on the sentence.
"""
from __future__ import annotations

import numpy as np
import pytest

import nlu.encoder as encoder_mod


@pytest.fixture(scope="module")
def encoder():
    return encoder_mod.shared_encoder("")


def test_tokenizer_keeps_spans_and_splits_punctuation_and_cjk():
    tok = encoder_mod.shared_encoder("").tokenizer
    text = "ZENTRO Kettle | 1.7L – café 加湿器"
    pieces = tok.tokenize(text)
    words = {text[p.start:p.end] for p in pieces}
    assert {"ZENTRO", "|", "–", "1", ".", "7L", "café", "加", "湿", "器"} <= words
    assert all(0 <= p.start < p.end <= len(text) for p in pieces)
    assert tok.unk not in [p.id for p in pieces if text[p.start:p.end] == "café"]  # accents stripped


def test_sentence_vectors_are_unit_length_and_meaningful(encoder):
    a = encoder.encode("is the blue kettle in stock?").sentence
    b = encoder.encode("do you have the blue kettle available?").sentence
    c = encoder.encode("what is the capital of france").sentence
    assert abs(float(np.linalg.norm(a)) - 1.0) < 1e-5
    assert float(a @ b) > float(a @ c) + 0.3


def test_the_vectors_match_sentence_transformers_reference(encoder):
    """First components of all-MiniLM-L6-v2's embedding of a fixed sentence, as
    sentence-transformers 5 computes them (saved once from the action server's embedder)."""
    v = encoder.encode("any zentro k-40 left?").sentence
    reference = np.array(REFERENCE, dtype=np.float32)
    assert np.allclose(v[: len(reference)], reference, atol=1e-4)


def test_featurizer_puts_a_vector_on_every_token_and_the_sentence():
    from rasa.engine.graph import ExecutionContext
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
    from rasa.shared.nlu.training_data.message import Message

    from nlu.featurizer import SentenceEncoderFeaturizer

    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    featurizer = SentenceEncoderFeaturizer(SentenceEncoderFeaturizer.get_default_config(),
                                           ExecutionContext(graph_schema=None, node_name="enc"))
    message = Message.build(text="is the VORLO | 4L | Quiet humidifier in stock?")
    tokenizer.process([message])
    featurizer.process([message])
    seq, sent = message.get_dense_features("text")
    n_tokens = len(message.get("text_tokens"))
    assert seq.features.shape == (n_tokens, 384)
    assert sent.features.shape == (1, 384)
    assert not np.allclose(seq.features[0], seq.features[-1])


def test_empty_and_blank_messages_get_features_too():
    from rasa.engine.graph import ExecutionContext
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
    from rasa.shared.nlu.training_data.message import Message

    from nlu.featurizer import SentenceEncoderFeaturizer

    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    featurizer = SentenceEncoderFeaturizer(SentenceEncoderFeaturizer.get_default_config(),
                                           ExecutionContext(graph_schema=None, node_name="enc"))
    for text in ("", "   "):
        message = Message.build(text=text)
        tokenizer.process([message])
        featurizer.process([message])
        seq, sent = message.get_dense_features("text")
        assert sent.features.shape == (1, 384)
        assert seq.features.shape[1] == 384


def test_bad_model_dir_setting_is_refused():
    from rasa.shared.exceptions import InvalidConfigException

    from nlu.featurizer import SentenceEncoderFeaturizer

    with pytest.raises(InvalidConfigException):
        SentenceEncoderFeaturizer.validate_config({"model_dir": 3})
REFERENCE = [-0.09613, -0.00644, -0.01585, 0.02146, -0.02062, 0.06692, 0.04366, -0.01185]
