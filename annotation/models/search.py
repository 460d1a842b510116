"""The keyed-hash word index that lets a project's encrypted item texts be searched by word."""

from django.db import models

from annotation.models.items import Item
from projects.models import Project


class ItemWord(models.Model):
    """One distinct word of one item, as a keyed 64-bit hash (FieldCipher.word_tokens).

    Never the word: the hash is keyed by the project's data key, so equal words match only within
    one project and nothing can be looked up once the key is shredded. The primary key (project,
    token, item) is the only index a word search needs: a word's items are one index range, already
    in item order, and checking one item for one word is one probe. No id column: at about 30
    words an item, a 100,000-item project holds millions of rows, and each column counts. Like
    NearDupBucket, the foreign keys have no database constraint (a check per row would cost more
    than the insert); the ORM deletes an item's or project's rows with it, through item_id's index.
    """

    pk = models.CompositePrimaryKey("project_id", "token", "item_id")
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    token = models.BigIntegerField()
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+", db_constraint=False)

    def __str__(self) -> str:
        return f"Word {self.token} of item {self.item_id}"
