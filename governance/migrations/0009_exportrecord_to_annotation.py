"""State only: governance forgets ExportRecord, which annotation now holds (same table)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('annotation', '0014_exportrecord_from_governance'),
        ('governance', '0008_audit_verification_lifecycle'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(
                    name='ExportRecord',
                ),
            ],
        ),
    ]
