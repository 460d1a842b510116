"""Encrypt item text and metadata, annotation values and skip reasons, and prediction values.

Existing rows are sealed under a new per-project data key (wrapped by the newest master key)
before the plaintext columns are dropped. The associated data below must match what
governance.fields builds: "<project>:<model>.<field>:<row keys>".
"""

from functools import partial

from django.conf import settings
from django.db import migrations, models

from governance.crypto import (
    FieldCipher,
    data_key_unwrap,
    data_key_wrap,
    key_fingerprint,
    key_generate,
)

CHUNK = 1000


def _cipher(apps, project_id: int, *, create: bool):
    ProjectKey = apps.get_model("governance", "ProjectKey")
    key = ProjectKey.objects.filter(project_id=project_id).first()
    if key is None:
        if not create:
            return None
        master = settings.MASTER_KEYS[0]
        data_key = key_generate()
        ProjectKey.objects.create(
            project_id=project_id,
            wrapped_key=data_key_wrap(master_key=master, data_key=data_key, project_id=project_id),
            master_key_id=key_fingerprint(master),
        )
    elif key.wrapped_key is None:
        return None  # shredded: nothing of this project can be read or kept
    else:
        masters = {key_fingerprint(master): master for master in settings.MASTER_KEYS}
        if key.master_key_id not in masters:
            raise RuntimeError(
                f"Master key {key.master_key_id} of project {project_id} is not in MASTER_KEYS."
            )
        data_key = data_key_unwrap(
            master_key=masters[key.master_key_id], wrapped=key.wrapped_key, project_id=project_id
        )
    return FieldCipher.from_data_key(project_id=project_id, data_key=data_key)


def _rewrite(queryset, fields, convert):
    batch = []
    for row in queryset.order_by("pk").iterator(chunk_size=CHUNK):
        convert(row)
        batch.append(row)
        if len(batch) >= CHUNK:
            queryset.model.objects.bulk_update(batch, fields)
            batch = []
    if batch:
        queryset.model.objects.bulk_update(batch, fields)


def _item_seal(cipher, item):
    item.text_index = cipher.blind_index(item.text)
    item.text_ct = cipher.seal_text(item.text, cipher.context("item.text", item.text_index))
    item.meta_ct = cipher.seal_json(item.meta or {}, cipher.context("item.meta"))


def _annotation_seal(cipher, annotation):
    row = (annotation.item_id, annotation.annotator_id)
    annotation.value_ct = cipher.seal_json(
        annotation.value or {}, cipher.context("annotation.value", *row)
    )
    annotation.skip_reason_ct = cipher.seal_text(
        annotation.skip_reason or "", cipher.context("annotation.skip_reason", *row)
    )


def _prediction_seal(cipher, prediction):
    prediction.value_ct = cipher.seal_json(
        prediction.value or {}, cipher.context("prediction.value", prediction.item_id)
    )


def _item_open(cipher, item):
    item.text = cipher.open_text(item.text_ct, cipher.context("item.text", item.text_index))
    item.meta = cipher.open_json(item.meta_ct, cipher.context("item.meta")) if item.meta_ct else {}


def _annotation_open(cipher, annotation):
    row = (annotation.item_id, annotation.annotator_id)
    if annotation.value_ct:
        annotation.value = cipher.open_json(
            annotation.value_ct, cipher.context("annotation.value", *row)
        )
    if annotation.skip_reason_ct:
        annotation.skip_reason = cipher.open_text(
            annotation.skip_reason_ct, cipher.context("annotation.skip_reason", *row)
        )


def _prediction_open(cipher, prediction):
    prediction.value = cipher.open_json(
        prediction.value_ct, cipher.context("prediction.value", prediction.item_id)
    )


SEAL = {
    "Item": (["text_index", "text_ct", "meta_ct"], _item_seal),
    "Annotation": (["value_ct", "skip_reason_ct"], _annotation_seal),
    "Prediction": (["value_ct"], _prediction_seal),
}
OPEN = {
    "Item": (["text", "meta"], _item_open),
    "Annotation": (["value", "skip_reason"], _annotation_open),
    "Prediction": (["value"], _prediction_open),
}


def _convert_all(apps, steps, *, create_keys: bool):
    Project = apps.get_model("annotation", "Project")
    for project_id in Project.objects.order_by("pk").values_list("pk", flat=True):
        cipher = _cipher(apps, project_id, create=create_keys)
        if cipher is None:
            continue
        for model_name, (fields, convert) in steps.items():
            rows = apps.get_model("annotation", model_name).objects.filter(project_id=project_id)
            _rewrite(rows, fields, partial(convert, cipher))


def encrypt_existing(apps, schema_editor):
    _convert_all(apps, SEAL, create_keys=True)


def decrypt_existing(apps, schema_editor):
    _convert_all(apps, OPEN, create_keys=False)


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0001_initial"),
        ("governance", "0002_keys_tokens_actor"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="item",
            name="text_ct",
            field=models.BinaryField(default=b""),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="item", name="text_index", field=models.CharField(blank=True, max_length=64)
        ),
        migrations.AddField(model_name="item", name="meta_ct", field=models.BinaryField(null=True)),
        migrations.AddField(
            model_name="annotation", name="value_ct", field=models.BinaryField(null=True)
        ),
        migrations.AddField(
            model_name="annotation", name="skip_reason_ct", field=models.BinaryField(null=True)
        ),
        migrations.AddField(
            model_name="prediction",
            name="value_ct",
            field=models.BinaryField(default=b""),
            preserve_default=False,
        ),
        migrations.RunPython(encrypt_existing, decrypt_existing, elidable=False),
        # A default only so that reversing this migration can re-add the column to existing rows.
        migrations.AlterField(model_name="item", name="text", field=models.TextField(default="")),
        migrations.RemoveField(model_name="item", name="text"),
        migrations.RemoveField(model_name="item", name="meta"),
        migrations.RemoveField(model_name="annotation", name="value"),
        migrations.RemoveField(model_name="annotation", name="skip_reason"),
        migrations.RemoveField(model_name="prediction", name="value"),
        migrations.AddIndex(
            model_name="item",
            index=models.Index(fields=["project", "text_index"], name="item_text_index_idx"),
        ),
    ]
