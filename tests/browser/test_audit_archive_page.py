"""The audit archive page with archives and a search's results (the layout tour sees it with none): the layout rules hold."""

import datetime as dt

import pytest
from django.utils import timezone

from governance.checkpoints.note import note_key_generate
from governance.services.audit_archive import audit_archive_run
from governance.services.checkpoints import audit_checkpoint_publish
from governance.services.roles import global_role_set
from tests.browser.test_layout import LAYOUT_PROBLEMS, WIDTHS, Stop, _visit
from tests.factories import user_make
from tests.governance.test_auditor_pages import events_append

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("screen", list(WIDTHS))
def test_the_archive_page_keeps_its_layout_with_archives_and_search_results(
    browser_session, transactional_db, settings, tmp_path, screen
):
    key = note_key_generate("sensitive-annotator/browser-test")
    key_file = tmp_path / "checkpoint.pem"
    key_file.write_bytes(key.private_pem())
    settings.AUDIT_CHECKPOINT_KEY_FILE = str(key_file)
    settings.AUDIT_CHECKPOINT_ORIGIN = key.name
    settings.AUDIT_CHECKPOINT_SINKS = [f"file://{tmp_path / 'checkpoints'}"]
    settings.AUDIT_SIEM_SINKS = []
    settings.AUDIT_ARCHIVE_AFTER_DAYS = 7
    settings.AUDIT_ARCHIVE_DIR = tmp_path / "archive"
    settings.AUDIT_ARCHIVE_MAX_EVENTS = 12
    auditor = user_make("auditor")
    global_role_set(actor="tests", user=auditor, role="auditor")
    year_ago = timezone.now() - dt.timedelta(days=365)
    for segment in range(2):
        events_append(10, at=year_ago + dt.timedelta(days=segment), actor_name="nightly-archiving-robot-with-a-long-service-account-name")
        audit_checkpoint_publish(force=True)
    assert len(audit_archive_run(actor="tests", now=timezone.now() + dt.timedelta(days=30)).archives) >= 1
    page = browser_session.login(auditor, viewport=WIDTHS[screen])
    stop = Stop("audit-archive", "governance:audit-archive", "auditor", query="?seq_from=1&action=item.")
    _visit(page, browser_session.base_url, stop, world=None)
    assert page.locator("tr.audit-archive").count() >= 1 and page.locator("tr.archived-event").count() >= 1
    assert page.evaluate(LAYOUT_PROBLEMS) == []
    assert browser_session.errors == [], browser_session.errors
