"""Cleaning and personal-data scanning of import rows, in worker processes ahead of the writes."""

from dataclasses import dataclass, field

from annotation.pipeline.cleaning import CleaningPolicy, CleanResult, text_clean
from governance.pii import PiiFinding, pii_detect, pii_mask, pii_pseudonymise
from projects.models import PiiPolicy


@dataclass(frozen=True)
class RowScan:
    """One row's text as cleaning left it, its personal-data findings and the text to store."""

    cleaned: CleanResult
    findings: list[PiiFinding] = field(default_factory=list)
    # Cleaned, then masked or pseudonymised as the project's policy says.
    text: str = ""
    mapping: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ScanPolicy:
    cleaning: CleaningPolicy
    pii: str
    pseudonym_key: bytes


def row_scan(text: str, policy: ScanPolicy) -> RowScan:
    cleaned = text_clean(text, policy.cleaning)
    if cleaned.rejected:
        return RowScan(cleaned, text=cleaned.text)
    findings = pii_detect(cleaned.text)
    if findings and policy.pii == PiiPolicy.MASK:
        return RowScan(cleaned, findings, pii_mask(cleaned.text, findings))
    if findings and policy.pii == PiiPolicy.PSEUDONYMISE:
        masked, mapping = pii_pseudonymise(cleaned.text, findings, key=policy.pseudonym_key)
        return RowScan(cleaned, findings, masked, mapping)
    return RowScan(cleaned, findings, cleaned.text)


def rows_scan(texts: list[str], policy: ScanPolicy) -> list[RowScan]:
    return [row_scan(text, policy) for text in texts]


# Set in each scanning process when its pool starts (inherited through fork, never pickled).
_POOL_POLICY: ScanPolicy | None = None


def _pool_start(policy: ScanPolicy) -> None:
    global _POOL_POLICY
    _POOL_POLICY = policy


def _pool_scan(texts: list[str]) -> list[RowScan]:
    return rows_scan(texts, _POOL_POLICY)


class _Done:
    def __init__(self, scans: list[RowScan]):
        self._scans = scans

    def get(self) -> list[RowScan]:
        return self._scans


class RowScanner:
    """Scans batches of texts in ``processes`` worker processes, or here when it is 0.

    ``submit`` returns at once; ``get()`` on what it returned waits for that batch. An import
    submits the next batch before it writes the current one, so on a machine with cores to spare
    the scan (about a third of an import's CPU, presidio mostly) runs beside the writes.

    Why billiard's pool: it is Celery's own, and unlike multiprocessing's it may start processes
    from inside a prefork worker (those are daemons). The pool forks after presidio has loaded
    here, so the workers start warm; they never touch the database.
    """

    def __init__(self, policy: ScanPolicy, *, processes: int):
        self.policy = policy
        self._pool = None
        if processes > 0:
            import billiard

            row_scan("warm up: 1234 @", policy)  # load presidio once, before the fork
            self._pool = billiard.get_context("fork").Pool(
                processes, initializer=_pool_start, initargs=(policy,)
            )

    def submit(self, texts: list[str]):
        if self._pool is None:
            return _Done(rows_scan(texts, self.policy))
        return self._pool.apply_async(_pool_scan, (texts,))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def __enter__(self) -> "RowScanner":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
