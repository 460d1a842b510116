"""A partial index for the queue's gold lookup, so it never walks a whole project's items."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0005_training_perms"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="item",
            index=models.Index(
                condition=models.Q(("is_gold", True)),
                fields=["project", "id"],
                name="item_gold_idx",
            ),
        ),
    ]
