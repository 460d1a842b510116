"""What an import reads at a time and what it counts: batches with their rows' scans, the tally, the result."""

from dataclasses import dataclass, field
from itertools import islice

from annotation.pipeline.readers import ImportRowError
from annotation.services.import_scan import RowScanner

BATCH_SIZE = 1000
# Report lines kept per import (bad rows; near-duplicate links, by its pass): the counters go on past it.
REPORT_LIMIT = 10_000


@dataclass(frozen=True)
class ImportResult:
    rows: int
    created: int
    skipped_existing: int
    # Rows whose text (normalised) the project already had, or that repeated an earlier row.
    duplicates: int = 0
    errors: int = 0


@dataclass
class ImportTally:
    """Counters and report lines of one import; the report names rows, fields and reasons only."""

    rows: int = 0
    created: int = 0
    skipped_existing: int = 0
    duplicates: int = 0
    errors: list = field(default_factory=list)
    labels_created: list = field(default_factory=list)

    def result(self) -> ImportResult:
        return ImportResult(
            rows=self.rows,
            created=self.created,
            skipped_existing=self.skipped_existing,
            duplicates=self.duplicates,
            errors=len(self.errors),
        )


def batches(rows, size: int = BATCH_SIZE):
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def scanned_batches(rows, scanner: RowScanner):
    """Batches with their rows' scans, the next batch's scan started before a batch is handed out.

    When reading stops with an error, the batch already read is still handed out (with its scan)
    before the error is raised, so "skip" mode imports every row it counted.
    """
    iterator, pending = batches(rows), None
    while True:
        try:
            batch = next(iterator, None)
        except ImportRowError:
            if pending is not None:
                yield pending[0], pending[1].get()
            raise
        if batch is None:
            break
        submitted = scanner.submit([row.text for row in batch])
        if pending is not None:
            yield pending[0], pending[1].get()
        pending = (batch, submitted)
    if pending is not None:
        yield pending[0], pending[1].get()
