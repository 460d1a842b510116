"""After a restore: the items and answers of every project open with the restored keys, and shredded ones still do not."""

from annotation.models import Annotation, Item
from governance.keyring import DataShredded, project_shredded
from projects.models import Project

# Items opened per project, from each end of its id range: enough to show the key and the rows fit
# without decrypting a million texts during a restore drill.
SAMPLE_EACH_END = 500


def _sample_ids(project: Project) -> list[int]:
    items = Item.objects.filter(project=project)
    first = list(items.order_by("id").values_list("id", flat=True)[:SAMPLE_EACH_END])
    last = list(items.order_by("-id").values_list("id", flat=True)[:SAMPLE_EACH_END])
    return sorted(set(first) | set(last))


def items_open_check() -> tuple[bool, str]:
    """Open a sample of each project's item texts, metadata and answers; a shredded project must refuse."""
    opened_items = opened_answers = readable = shredded = 0
    problems = []
    for project in Project.objects.order_by("id"):
        ids = _sample_ids(project)
        if project_shredded(project=project) is not None:
            shredded += 1
            if ids:
                item = Item.objects.only(*Item.TEXT_FIELDS).get(pk=ids[0])
                try:
                    _ = item.text  # the read is the check
                    problems.append(f"project {project.pk} was shredded, yet its item {item.pk} opened")
                except DataShredded:
                    pass
            continue
        readable += 1
        for item in Item.objects.filter(pk__in=ids).only(*Item.TEXT_FIELDS, "meta_ct"):
            try:
                _ = (item.text, item.meta)
                opened_items += 1
            except Exception as error:  # each project is reported, not only the first failure
                problems.append(f"project {project.pk}, item {item.pk}: {type(error).__name__}: {error}")
                break
        for answer in Annotation.objects.filter(item_id__in=ids).only(
            "project", "item", "annotator", "value_ct", "skip_reason_ct", "comment_ct"
        ):
            try:
                _ = (answer.value, answer.skip_reason, answer.comment)
                opened_answers += 1
            except Exception as error:
                problems.append(f"project {project.pk}, annotation {answer.pk}: {type(error).__name__}: {error}")
                break
    if problems:
        return False, "; ".join(problems[:5])
    return True, (
        f"{opened_items} item texts and {opened_answers} annotations opened in {readable} projects "
        f"(up to {SAMPLE_EACH_END} items from each end of each); {shredded} shredded projects stay unreadable"
    )
