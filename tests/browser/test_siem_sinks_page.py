"""The SIEM sinks page with sinks configured (the layout tour sees it with none): its table keeps the layout rules."""

import pytest
from django.utils import timezone

from governance.models import SiemCursor
from governance.services.roles import global_role_set
from tests.browser.test_layout import LAYOUT_PROBLEMS, WIDTHS, Stop, _visit
from tests.factories import user_make
from tests.governance.siem_support import events_record

pytestmark = pytest.mark.browser

SYSLOG = "syslog+tcp://security-information-and-event-management.internal.example.org:6514"
FILE = "file:///var/log/sensitive-annotator/audit-trail-for-the-security-operations-centre.jsonl"


@pytest.mark.parametrize("screen", list(WIDTHS))
def test_the_sinks_page_keeps_its_layout_with_long_sinks_and_errors(browser_session, transactional_db, settings, screen):
    settings.AUDIT_SIEM_SINKS = [SYSLOG, FILE]
    auditor = user_make("auditor")
    global_role_set(actor="tests", user=auditor, role="auditor")
    events_record(3)
    SiemCursor.objects.create(
        sink=SYSLOG, last_seq=1, failures=4, retry_at=timezone.now(), last_error_at=timezone.now(),
        last_error=f"syslog receiver {SYSLOG[13:]} did not accept the batch and close the connection within 10 s",
    )
    page = browser_session.login(auditor, viewport=WIDTHS[screen])
    _visit(page, browser_session.base_url, Stop("audit-sinks", "governance:audit-sinks", "auditor"), world=None)
    assert page.locator("tr.siem-sink").count() == 2
    assert page.evaluate(LAYOUT_PROBLEMS) == []
    assert browser_session.errors == [], browser_session.errors
