"""Read a catalog file (CSV with header, or JSON Lines) into raw rows with line numbers."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.importing.rows import RowError


@dataclass(frozen=True)
class RawRow:
    line: int
    cells: dict[str, Any]


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return "jsonl"
    if suffix in {".csv", ".tsv", ".txt"}:
        return "csv"
    with path.open("rb") as fh:
        head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return "jsonl" if head.startswith(b"{") else "csv"


def read_rows(path: Path, fmt: str | None = None) -> Iterator[RawRow | RowError]:
    """Yield each data row, or a RowError for a line that cannot even be split into cells."""
    fmt = fmt or detect_format(path)
    # newline="" lets the csv module handle quoted line breaks; errors are caught per line.
    with path.open("r", encoding="utf-8-sig", errors="strict", newline="") as fh:
        reader = _read_jsonl(fh) if fmt == "jsonl" else _read_csv(fh, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
        try:
            yield from reader
        except UnicodeDecodeError as exc:
            yield RowError(0, "-", f"file is not valid UTF-8 ({exc.reason} at byte {exc.start}); save it as UTF-8 and retry")


def _read_csv(fh: io.TextIOBase, delimiter: str) -> Iterator[RawRow | RowError]:
    reader = csv.reader(fh, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    names = [h.strip().lower() for h in header]
    last_line = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RowError(last_line + 1, "-", f"unreadable CSV: {exc}")
            last_line = reader.line_num
            continue
        line = last_line + 1
        last_line = reader.line_num
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) > len(names):
            extra = cells[len(names):]
            if any(c.strip() for c in extra):
                yield RowError(line, "-", f"row has {len(cells)} cells but the header has {len(names)}")
                continue
        row = {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(names) if name}
        yield RawRow(line, row)


def _read_jsonl(fh: io.TextIOBase) -> Iterator[RawRow | RowError]:
    for line_no, line in enumerate(fh, start=1):
        text = line.strip()
        if not text:
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            yield RowError(line_no, "-", f"invalid JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(value, dict):
            yield RowError(line_no, "-", "expected a JSON object per line")
            continue
        yield RawRow(line_no, value)
