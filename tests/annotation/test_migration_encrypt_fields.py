"""Migration 0002 seals rows written before encryption existed, and unseals them when reversed."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from annotation.models import Annotation, Item, Prediction
from governance.keyring import cache_clear
from governance.models import ProjectKey

BEFORE = [("annotation", "0001_initial")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_existing_plaintext_rows_are_encrypted_then_restored_by_the_reverse_migration():
    try:
        old = migrate(BEFORE)
        user = old.get_model("auth", "User").objects.create(username="legacy")
        project = old.get_model("annotation", "Project").objects.create(name="Legacy")
        item = old.get_model("annotation", "Item").objects.create(
            project=project, text="Old secret", meta={"who": "Roe"}
        )
        old.get_model("annotation", "Annotation").objects.create(
            project=project,
            item=item,
            annotator=user,
            value={"labels": ["x"]},
            status="skipped",
            skip_reason="Why",
        )
        old.get_model("annotation", "Prediction").objects.create(
            project=project, item=item, model_version="m", value={"labels": ["y"]}, score=0.1
        )

        migrate(latest())
        cache_clear()
        assert ProjectKey.objects.filter(project_id=project.pk).exists()
        sealed = Item.objects.get(pk=item.pk)
        assert b"Old secret" not in bytes(sealed.text_ct)
        assert (sealed.text, sealed.meta) == ("Old secret", {"who": "Roe"})
        annotation = Annotation.objects.get(item_id=item.pk)
        assert (annotation.value, annotation.skip_reason) == ({"labels": ["x"]}, "Why")
        assert Prediction.objects.get(item_id=item.pk).value == {"labels": ["y"]}

        restored = migrate(BEFORE)
        row = restored.get_model("annotation", "Item").objects.get(pk=item.pk)
        assert (row.text, row.meta) == ("Old secret", {"who": "Roe"})
        assert (
            restored.get_model("annotation", "Annotation").objects.get(item_id=item.pk).skip_reason
            == "Why"
        )
    finally:
        migrate(latest())
