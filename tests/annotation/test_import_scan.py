"""Row scans made ahead of an import's writes, in worker processes or in the importing one."""

import io
import json

import pytest

from annotation.models import ImportJob, PiiFinding
from annotation.pipeline.cleaning import CleaningPolicy
from annotation.pipeline.readers import ImportRow, ImportRowError
from annotation.services.import_batches import scanned_batches
from annotation.services.import_jobs import import_job_create, import_job_run
from annotation.services.import_scan import RowScanner, ScanPolicy, rows_scan
from projects.models import PiiPolicy

KEY = b"pseudonym-key-0123456789abcdef"
TEXTS = [
    "  Mail jane.doe@example.org  ",
    "Call +44 20 7946 0018 before Friday",
    "Nothing personal here at all",
    "",
]


@pytest.mark.parametrize("pii", [PiiPolicy.MASK, PiiPolicy.PSEUDONYMISE, PiiPolicy.KEEP])
def test_scans_from_a_worker_process_equal_scans_made_here(pii):
    policy = ScanPolicy(cleaning=CleaningPolicy(whitespace="strip"), pii=pii, pseudonym_key=KEY)
    with RowScanner(policy, processes=1) as scanner:
        pooled = scanner.submit(TEXTS).get()
    assert pooled == rows_scan(TEXTS, policy)
    assert pooled[0].cleaned.changes and pooled[3].cleaned.rejected
    if pii == PiiPolicy.KEEP:
        assert pooled[0].text == "Mail jane.doe@example.org" and pooled[0].findings
    else:
        assert "jane.doe" not in pooled[0].text and "7946" not in pooled[1].text


def _rows(count: int, *, then_fail: bool):
    for number in range(1, count + 1):
        yield ImportRow(row=number, text=f"text number {number}")
    if then_fail:
        raise ImportRowError(filename="f.jsonl", row=count + 1, field=None, message="zip bomb", fatal=True)


def test_a_batch_already_read_is_handed_out_before_a_reading_error():
    policy = ScanPolicy(cleaning=CleaningPolicy(), pii=PiiPolicy.MASK, pseudonym_key=KEY)
    handed = []
    with RowScanner(policy, processes=1) as scanner, pytest.raises(ImportRowError, match="zip bomb"):
        for batch, scans in scanned_batches(_rows(2000, then_fail=True), scanner):
            handed.append((len(batch), [scan.text for scan in scans][:1]))
    assert handed == [(1000, ["text number 1"]), (1000, ["text number 1001"])]


def test_batches_and_their_scans_stay_in_file_order():
    policy = ScanPolicy(cleaning=CleaningPolicy(), pii=PiiPolicy.MASK, pseudonym_key=KEY)
    with RowScanner(policy, processes=2) as scanner:
        handed = list(scanned_batches(_rows(3500, then_fail=False), scanner))
    assert [len(batch) for batch, _ in handed] == [1000, 1000, 1000, 500]
    for batch, scans in handed:
        assert [row.text for row in batch] == [scan.text for scan in scans]


@pytest.mark.django_db
@pytest.mark.parametrize("processes", [0, 2])
def test_a_job_imports_the_same_with_or_without_scanning_processes(project, manager, settings, processes):
    settings.IMPORT_SCAN_PROCESSES = processes
    project.pii_policy = PiiPolicy.MASK
    project.save()
    # Two batches (1,000 and 300 rows): the second is scanned while the first is written.
    lines = [{"id": f"r{n}", "text": f"Row {n}: write to user{n}@example.org"} for n in range(1300)]
    content = "".join(json.dumps(line) + "\n" for line in lines).encode()
    job = import_job_create(actor=manager, project=project, stream=io.BytesIO(content), filename="p.jsonl")
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.created) == ("succeeded", 1300)
    assert project.items.get(external_id="r1299").text == "Row 1299: write to [EMAIL]"
    assert PiiFinding.objects.filter(project=project, entity="EMAIL").count() == 1300
    assert ImportJob.objects.filter(pk=job.pk, progress_done=1300).exists()
