# Versions of project data keys (issue 19, item 3).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("governance", "0017_audit_archive")]

    operations = []
