"""A FAISS index of product embeddings kept beside the database, updated incrementally.

Each product's search text is hashed; only products whose text changed are embedded
again, and products that disappeared leave the index. The index and the hashes are
saved together so a restart does not re-embed the whole catalog.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import faiss
import numpy as np

from catalog.search.embedder import DIMENSION, Embedder


def content_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


class SemanticIndex:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.index = faiss.IndexIDMap2(faiss.IndexFlatIP(DIMENSION))
        self.hashes: dict[int, str] = {}
        if path is not None:
            self._load()

    def __len__(self) -> int:
        return self.index.ntotal

    def sync(self, texts: dict[int, str], embedder: Embedder, progress: Callable[[int], None] | None = None) -> int:
        """Bring the index in line with {product_id: search text}; returns how many were embedded."""
        wanted = {pid: content_hash(text) for pid, text in texts.items()}
        stale = [pid for pid, h in self.hashes.items() if wanted.get(pid) != h]
        if stale:
            self.index.remove_ids(np.asarray(stale, dtype="int64"))
            for pid in stale:
                del self.hashes[pid]
        todo = [pid for pid in wanted if pid not in self.hashes]
        for start in range(0, len(todo), 512):
            chunk = todo[start:start + 512]
            vectors = embedder.encode([texts[pid] for pid in chunk])
            self.index.add_with_ids(vectors, np.asarray(chunk, dtype="int64"))
            self.hashes.update({pid: wanted[pid] for pid in chunk})
            if progress:
                progress(len(chunk))
        if (todo or stale) and self.path is not None:
            self._save()
        return len(todo)

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        if self.index.ntotal == 0:
            return []
        scores, ids = self.index.search(vector.reshape(1, -1), min(k, self.index.ntotal))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def scores_for(self, vector: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
        """Cosine similarity of the query to specific products (those found by other means)."""
        known = [i for i in ids if i in self.hashes]
        if not known:
            return {}
        matrix = np.vstack([self.index.reconstruct(int(i)) for i in known])
        return dict(zip(known, (matrix @ vector.reshape(-1)).tolist()))

    def _load(self) -> None:
        meta = self.path.with_suffix(self.path.suffix + ".json")
        if not (self.path.exists() and meta.exists()):
            return
        try:
            index = faiss.read_index(str(self.path))
            hashes = {int(k): v for k, v in json.loads(meta.read_text()).items()}
        except (RuntimeError, ValueError, OSError):
            return  # a damaged index is rebuilt, not trusted
        if index.ntotal == len(hashes) and index.d == DIMENSION:
            self.index, self.hashes = index, hashes

    def _save(self) -> None:
        """Write atomically (temp file + rename) so a reader never sees half an index."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        meta = self.path.with_suffix(self.path.suffix + ".json")
        for target, write in (
            (self.path, lambda tmp: faiss.write_index(self.index, tmp)),
            (meta, lambda tmp: Path(tmp).write_text(json.dumps(self.hashes))),
        ):
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
            os.close(fd)
            write(tmp)
            os.replace(tmp, target)
