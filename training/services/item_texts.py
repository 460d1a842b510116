"""What training derived from an item's text, dropped when the text is edited."""

from training.models import ItemEmbedding, LabelIssue
from training.services.embeddings import embeddings_compute_request


def item_texts_changed(*, project, item_ids) -> None:
    """Drop the embeddings and label issues of items whose text changed, and embed them again.

    Runs in the edit's transaction (annotation.hooks.Hook.ITEM_TEXT_CHANGED). An embedding of the
    old text would rank the new one in the queue and find it as a similar item; a label issue was
    found on the old text. The worker embeds what is missing once the edit commits.
    """
    ids = list(item_ids)
    ItemEmbedding.objects.filter(item_id__in=ids).delete()
    LabelIssue.objects.filter(item_id__in=ids).delete()
    embeddings_compute_request(project=project)
