"""Revisions of item texts: an item counts its text edits, an answer keeps the revision it was made on."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0016_item_words"),
    ]

    operations = [
        migrations.AddField(
            model_name="item",
            name="text_revision",
            field=models.PositiveIntegerField(default=1),
        ),
        migrations.AddField(
            model_name="annotation",
            name="text_revision",
            field=models.PositiveIntegerField(default=1),
        ),
    ]
