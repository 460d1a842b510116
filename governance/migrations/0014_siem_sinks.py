# The SIEM sinks' cursors (issue 19, item 4): how far the audit trail has been shipped to each.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('governance', '0013_key_lifecycle'),
    ]

    operations = [
        migrations.CreateModel(
            name='SiemCursor',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sink', models.CharField(max_length=500, unique=True)),
                ('last_seq', models.BigIntegerField(default=0)),
                ('file_offset', models.BigIntegerField(default=0)),
                ('file_identity', models.CharField(blank=True, max_length=64)),
                ('shipped_at', models.DateTimeField(blank=True, null=True)),
                ('failures', models.PositiveIntegerField(default=0)),
                ('retry_at', models.DateTimeField(blank=True, null=True)),
                ('last_error', models.TextField(blank=True)),
                ('last_error_at', models.DateTimeField(blank=True, null=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
        ),
    ]
