"""Labels, the items to label and the holds the queue gives on them."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from governance.fields import encrypted_json, encrypted_text
from projects.models import Project

hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Colour must look like #1f77b4.")


class Label(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=100)
    color = models.CharField(max_length=7, default="#4c78a8", validators=[hex_colour])
    hotkey = models.CharField(max_length=1, blank=True)
    description = models.TextField(blank=True)
    # Seed words for active learning's cold start, comma-separated; items containing them come first.
    keywords = models.TextField(blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="label_unique_name_per_project"),
            models.UniqueConstraint(
                fields=["project", "hotkey"],
                condition=~models.Q(hotkey=""),
                name="label_unique_hotkey_per_project",
            ),
        ]

    def __str__(self) -> str:
        return self.name


def _item_text_index_set(item, cipher, text) -> None:
    item.text_index = cipher.blind_index(text)


class Item(models.Model):
    """A text to label. Text and metadata are stored encrypted; the external id stays in clear."""

    # No index of its own: the queue and text-index indexes below lead with the project, and one
    # index fewer is one write fewer for each imported item.
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    external_id = models.CharField(max_length=255, blank=True)
    text_ct = models.BinaryField()
    # HMAC of the normalised text under a key derived from the project's data key: exact-match
    # lookups and duplicate detection without storing the text, useless once the key is shredded.
    text_index = models.CharField(max_length=64, blank=True)
    meta_ct = models.BinaryField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Queue state: submitted (not rejected) annotations, and whether the item needs no more.
    # Gold items are always "done" so the ordinary queue never walks them; they are served apart.
    annotation_count = models.PositiveIntegerField(default=0)
    is_done = models.BooleanField(default=False)
    is_gold = models.BooleanField(default=False)
    gold_value_ct = models.BinaryField(null=True)
    # Provenance and import outcomes: where the item came from, the near-duplicate group keeper it
    # is linked to (kept, never dropped), and the pseudonym -> value mapping (encrypted).
    source = models.ForeignKey(
        "DataSource", null=True, blank=True, on_delete=models.RESTRICT, related_name="items"
    )
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="near_duplicates"
    )
    pii_mapping_ct = models.BinaryField(null=True)
    # Queue order: lowest rank first, then oldest. Zero for all until active learning ranks the
    # pool; ``in_control`` marks the uniformly drawn control slice it measures accuracy on.
    queue_rank = models.FloatField(default=0.0)
    in_control = models.BooleanField(default=False)
    # Bumped by each edit of the text: an answer keeps the revision it was made on, so answers
    # made on an older text (whose span offsets may no longer fit) can be told apart.
    text_revision = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["project", "is_done", "queue_rank", "id"], name="item_queue_rank_idx"),
            models.Index(fields=["project", "text_index"], name="item_text_index_idx"),
            # The item browser: its pages walk a project's ids newest first, and its capped counts read
            # up to 10,000 ids from here rather than from the wide rows (45 ms -> 4 ms at 100,000 items).
            models.Index(fields=["project", "id"], name="item_browse_idx"),
            # The queue's gold lookup: a handful of rows, not a walk over the whole project.
            models.Index(fields=["project", "id"], condition=models.Q(is_gold=True), name="item_gold_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"],
                condition=~models.Q(external_id=""),
                name="item_unique_external_id_per_project",
            )
        ]

    # The text is bound to its own blind index as well, so it cannot be moved to another row alone.
    text = encrypted_text("text_ct", row=lambda item: (item.text_index,), on_set=_item_text_index_set)
    meta = encrypted_json("meta_ct")
    gold_value = encrypted_json("gold_value_ct", row=lambda item: (item.pk,))
    pii_mapping = encrypted_json("pii_mapping_ct", row=lambda item: (item.text_index,))
    # What a query must load for ``text`` to be read without a query per row.
    TEXT_FIELDS = ("project", "text_ct", "text_index")

    def __str__(self) -> str:
        return f"Item {self.pk}"


class LockPurpose(models.TextChoices):
    ANNOTATE = "annotate", _("Annotate")
    REVIEW = "review", _("Review")


class ItemLock(models.Model):
    """One user's live hold on one of an item's annotation slots, or on its review; it expires."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="locks")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=10, choices=LockPurpose.choices)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "user", "purpose"], name="item_lock_one_per_user")
        ]
        indexes = [
            models.Index(fields=["item", "purpose", "expires_at"], name="item_lock_live_idx"),
            models.Index(fields=["user", "purpose", "expires_at"], name="item_lock_holder_idx"),
        ]
