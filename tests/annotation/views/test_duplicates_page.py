"""The near-duplicate review page: each group's kept item beside its linked items, differences marked."""

import pytest
from django.urls import reverse

from annotation.models import Item
from governance.models import AuditEvent
from tests.annotation.views.support import client_for
from tests.factories import items_add

pytestmark = pytest.mark.django_db

BASE = "The delivery was late and the box arrived completely crushed"


def _page(client, project, query: str = ""):
    return client.get(reverse("annotation:duplicates", args=[project.pk]) + query)


def _reads():
    return AuditEvent.objects.filter(action="item.read", details__via="duplicates.page")


def _groups(project, sizes: list[int]) -> list[tuple[Item, list[Item]]]:
    """Groups linked by hand (the import's linking is tested on its own): a keeper and ``size`` items each."""
    texts = []
    for number, size in enumerate(sizes):
        texts += [f"Group {number} keeper text"] + [
            f"Group {number} linked text {n}" for n in range(size)
        ]
    items_add(project=project, actor=project.created_by, texts=texts)
    items = list(project.items.filter(external_id="").order_by("-id")[: len(texts)])[::-1]
    groups, at = [], 0
    for size in sizes:
        keeper, linked = items[at], items[at + 1 : at + 1 + size]
        Item.objects.filter(pk__in=[item.pk for item in linked]).update(duplicate_of=keeper)
        groups.append((keeper, linked))
        at += 1 + size
    return groups


def test_an_imported_near_duplicate_is_shown_beside_its_keeper_with_the_differences_marked(
    project, manager
):
    from annotation.models import NearDupJob
    from annotation.services.neardup_jobs import neardup_job_run

    project.neardup_threshold = 0.7
    project.save(update_fields=["neardup_threshold"])
    items_add(project=project, actor=manager, texts=[BASE, BASE + " today"])
    neardup_job_run(job_id=NearDupJob.objects.get(project=project).pk)
    duplicate = project.items.get(duplicate_of__isnull=False)
    response = _page(client_for(manager), project)
    assert response.status_code == 200
    assert f'id="group-{duplicate.duplicate_of_id}"' in response.text
    assert f'data-item-id="{duplicate.pk}"' in response.text
    assert (
        '<mark class="text-mark mark-inserted" title="inserted" data-start="60"> today</mark>'
        in response.text
    )
    assert "Item" in response.text and "1 near duplicate" in response.text


def test_one_read_is_recorded_per_page_naming_keepers_and_linked_items_shown(project, manager):
    [(keeper, linked)] = _groups(project, [2])
    _page(client_for(manager), project)
    [event] = _reads()
    assert event.details["items"] == [keeper.pk, *(item.pk for item in linked)]


def test_a_large_group_shows_its_first_linked_items_and_says_how_many_more(project, manager):
    [(keeper, linked)] = _groups(project, [7])
    response = _page(client_for(manager), project)
    assert response.text.count('class="dup-pair"') == 5
    assert "and 2 more linked items, not shown here" in response.text
    assert f'data-item-id="{linked[5].pk}"' not in response.text
    assert _reads().get().details["items"] == [keeper.pk, *(item.pk for item in linked[:5])]


def test_groups_are_paged_by_keeper_id(project, manager):
    groups = _groups(project, [1] * 11)
    client = client_for(manager)
    first = _page(client, project)
    assert first.text.count('class="dup-group"') == 10
    assert f'id="group-{groups[10][0].pk}"' not in first.text
    assert f"?after={groups[9][0].pk}" in first.text
    second = _page(client, project, f"?after={groups[9][0].pk}")
    assert (
        second.text.count('class="dup-group"') == 1
        and f'id="group-{groups[10][0].pk}"' in second.text
    )
    back = _page(client, project, f"?before={groups[10][0].pk}")
    assert (
        back.text.count('class="dup-group"') == 10 and f'id="group-{groups[0][0].pk}"' in back.text
    )
    assert _reads().count() == 3


def test_a_project_without_near_duplicates_says_so_and_records_no_read(project, manager):
    response = _page(client_for(manager), project)
    assert response.status_code == 200 and 'id="dup-empty"' in response.text
    assert not _reads().exists()


def test_a_bad_page_position_answers_400_naming_it(project, manager):
    response = _page(client_for(manager), project, "?after=-3")
    assert response.status_code == 400 and "after" in response.text


def test_allows_a_manager_the_duplicates_page(project, manager):
    _groups(project, [1])
    assert _page(client_for(manager), project).status_code == 200


@pytest.mark.parametrize("role", ["reviewer", "annotator", "ml_engineer"])
def test_denies_other_roles_the_duplicates_page(project, request, role):
    _groups(project, [1])
    assert _page(client_for(request.getfixturevalue(role)), project).status_code == 403
    assert not _reads().exists()


def test_denies_an_outsider_the_duplicates_page_without_saying_the_project_exists(
    project, outsider
):
    assert _page(client_for(outsider), project).status_code == 404


def test_the_page_says_while_a_recent_imports_near_duplicate_pass_is_still_running(project, manager):
    from annotation.models import NearDupJob
    from annotation.services.neardup_jobs import neardup_job_run

    project.neardup_threshold = 0.7
    project.save(update_fields=["neardup_threshold"])
    items_add(project=project, actor=manager, texts=[BASE, BASE + " today"])
    waiting = NearDupJob.objects.get(project=project)
    response = _page(client_for(manager), project)
    assert 'id="dup-pending"' in response.text
    assert "still running for 1 recent import" in response.text
    assert "0 of 2 items checked" in response.text
    neardup_job_run(job_id=waiting.pk)
    response = _page(client_for(manager), project)
    assert 'id="dup-pending"' not in response.text and "1 near duplicate" in response.text


def test_the_import_job_shows_its_near_duplicate_pass_and_keeps_polling_until_it_ends(project, manager):
    import io
    import json

    from annotation.models import NearDupJob
    from annotation.services.import_jobs import import_job_create, import_job_run
    from annotation.services.neardup_jobs import neardup_job_run

    project.neardup_threshold = 0.7
    project.save(update_fields=["neardup_threshold"])
    content = "".join(json.dumps({"text": text}) + "\n" for text in (BASE, BASE + " today")).encode()
    job = import_job_create(actor=manager, project=project, stream=io.BytesIO(content), filename="n.jsonl")
    import_job_run(job_id=job.pk)
    url = reverse("annotation:import-job", args=[project.pk, job.pk])
    client = client_for(manager)
    waiting = client.get(url, headers={"HX-Request": "true"}).text
    assert 'id="import-job-neardup" data-status="queued"' in waiting
    assert "0 of 2 new items checked" in waiting and 'hx-trigger="every 1s"' in waiting
    neardup_job_run(job_id=NearDupJob.objects.get(import_job=job).pk)
    done = client.get(url, headers={"HX-Request": "true"}).text
    assert "Near-duplicate linking done: 1 item linked." in done and "hx-trigger" not in done
    assert "1 near duplicates linked" in done
