"""Import a merchant's catalog file: validate every row, keep the good ones, report the bad."""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from catalog.db.bulk_import import main_location_id, upsert_batch
from catalog.importing.reader import RawRow, read_rows
from catalog.importing.rows import CatalogRow, RowError, parse_row
from catalog.uow import UnitOfWork

BATCH_SIZE = 1000


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    stock_changes: int = 0
    errors: list[RowError] = field(default_factory=list)
    restocked_variant_ids: list[int] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.created + self.updated

    @property
    def rejected_rows(self) -> int:
        return len({e.line for e in self.errors})


def import_file(uow: UnitOfWork, path: Path, progress: Callable[[int], None] | None = None) -> ImportReport:
    """Import PATH (CSV or JSON Lines). `progress` is called with bytes-ish units of work done."""
    reference = f"import:{path.name}:{dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')}"
    return import_raw_rows(uow, read_rows(path), reference, progress)


def import_raw_rows(
    uow: UnitOfWork, raw_rows: Iterable[RawRow | RowError], reference: str,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    report = ImportReport()
    with uow:
        location = main_location_id(uow.session)
        for batch in _valid_batches(raw_rows, report):
            result = upsert_batch(uow.session, batch, location, reference)
            uow.commit()  # a batch at a time: a huge file makes steady, visible progress
            report.created += result.created
            report.updated += result.updated
            report.stock_changes += result.stock_changes
            report.restocked_variant_ids.extend(result.restocked_variant_ids)
            if progress:
                progress(len(batch))
    if report.restocked_variant_ids:
        _alert_restocked(uow, report.restocked_variant_ids)
    return report


def _alert_restocked(uow: UnitOfWork, variant_ids: list[int]) -> None:
    """on_hand went up: backorders first, then restock alerts (catalog.services.alerts)."""
    from catalog.services.alerts import on_stock_arrived

    ids = sorted(set(variant_ids))
    for start in range(0, len(ids), BATCH_SIZE):
        on_stock_arrived(uow, ids[start:start + BATCH_SIZE])


def _valid_batches(raw_rows: Iterable[RawRow | RowError], report: ImportReport) -> Iterator[list[CatalogRow]]:
    batch: list[CatalogRow] = []
    for item in raw_rows:
        if isinstance(item, RowError):
            report.errors.append(item)
            continue
        row, errors = parse_row(item.line, item.cells)
        if errors:
            report.errors.extend(errors)
            continue
        batch.append(row)
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def count_lines(path: Path) -> int:
    """Rough row count for the progress bar (cheap: counts newlines in binary chunks)."""
    total = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            total += chunk.count(b"\n")
    return max(total - 1, 0) if os.path.getsize(path) else 0
