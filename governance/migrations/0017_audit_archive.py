# Archive of the audit trail (issue 19, item 5).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("governance", "0016_audit_filter_indexes")]

    operations = []
