"""The signed-checkpoints page with checkpoints on, a failing sink and long names keeps its layout at each width.

The layout tour visits the page with checkpoints off; this visits it with every table filled.
"""

import pytest
from django.urls import reverse

from governance.checkpoints.note import note_key_generate
from governance.services.checkpoints import audit_checkpoint_publish
from governance.services.roles import global_role_set
from tests.browser.test_layout import LAYOUT_PROBLEMS, WIDTHS
from tests.factories import user_make
from tests.governance.test_auditor_pages import events_append


@pytest.mark.parametrize("screen", list(WIDTHS))
def test_the_checkpoints_page_keeps_its_layout_with_every_table_filled(
    browser_session, transactional_db, screen, settings, tmp_path
):
    key = note_key_generate("sensitive-annotator/audit.nordic-retail-example.com")
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(key.private_pem())
    folder = tmp_path / "a-rather-long-folder-name-on-another-volume" / "audit-checkpoints-of-this-installation"
    settings.AUDIT_CHECKPOINT_KEY_FILE = str(key_file)
    settings.AUDIT_CHECKPOINT_ORIGIN = key.name
    settings.AUDIT_CHECKPOINT_SINKS = [f"file://{folder}", "syslog+tcp://127.0.0.1:9"]
    auditor = user_make("auditor")
    global_role_set(actor="tests", user=auditor, role="auditor")
    for _ in range(3):
        events_append(5)
        audit_checkpoint_publish(force=True)
    page = browser_session.login(auditor, viewport=WIDTHS[screen])
    response = page.goto(browser_session.base_url + reverse("governance:audit-checkpoints"))
    assert response.ok
    assert page.locator("#checkpoint-vkey").inner_text() == key.vkey()
    assert page.locator("#checkpoints tbody tr").count() == 3
    assert page.evaluate(LAYOUT_PROBLEMS) == []
    assert browser_session.errors == []
