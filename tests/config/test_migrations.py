"""The migrations describe the models exactly: nothing is left for makemigrations to write."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_models_and_migrations_agree_so_no_new_migration_is_needed():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit:  # --check exits non-zero when a migration would be written
        pytest.fail(f"Models differ from their migrations (run makemigrations):\n{out.getvalue()}", pytrace=False)
    assert "No changes detected" in out.getvalue()
