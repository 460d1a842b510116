"""On one machine, a training job on the gpu worker does not hold back imports and embeddings."""

import pytest

from annotation.management.commands.demo_load import DEMO_PROJECT_NAME
from tests.smoke.processes import manage, query, wait_for, workers_start, workers_stop

pytestmark = [pytest.mark.smoke, pytest.mark.worker]


# A project of 240 labelled items, a version of it, and a fine-tune of the bundled MiniLM that
# runs for minutes (100 epochs, no early stop) on the gpu worker.
_LONG_TRAINING = """
import json
from django.contrib.auth import get_user_model
from tests.training.training_support import labelled_project_make, ready_version
from training.services.training import training_request
make = get_user_model().objects.create_user
manager, annotator, engineer = (make(name, password="unused-" + name) for name in ("lead", "labeller", "engineer"))
project = labelled_project_make(
    manager=manager, annotator=annotator, ml_engineer=engineer, count=240, name="Long training"
)
job = training_request(
    actor=engineer, project=project, dataset_version=ready_version(project, engineer),
    hyperparameters={"epochs": 100, "patience": 100},
)
print(json.dumps(job.pk))
"""

_LATE_IMPORT = """
import io, json
from annotation.services.import_jobs import import_job_create
from projects.models import Project
project = Project.objects.get(name=%r)
lines = "".join(json.dumps({"text": text}) + "\\n" for text in %r)
job = import_job_create(
    actor=project.created_by, project=project, stream=io.BytesIO(lines.encode()), filename="late.jsonl"
)
print(json.dumps(job.pk))
"""

_LATE_TEXTS = [
    "The courier arrived while the model was still training.",
    "Nobody had to wait for the training job to finish.",
    "Imports, embeddings and refreshes have a worker of their own.",
]


def _training_job(env: dict, job_id: int) -> dict:
    return query(
        env,
        "import json; from training.models import TrainingJob; "
        f"job = TrainingJob.objects.get(pk={job_id}); "
        "print(json.dumps({'status': job.status, 'step': job.progress.get('step', 0)}))",
    )


def test_an_import_completes_and_is_embedded_while_a_training_job_runs(default_env, tmp_path):
    manage(default_env, "migrate", "--noinput")
    manage(default_env, "demo_load")
    workers = workers_start(default_env, tmp_path)
    logs = [log_path for _, log_path in workers]
    try:
        training_id = query(default_env, _LONG_TRAINING)
        wait_for(
            lambda: _training_job(default_env, training_id)["step"] > 0,
            600,
            "the training job to run its first steps",
            logs[1],
        )

        import_id = query(default_env, _LATE_IMPORT % (DEMO_PROJECT_NAME, _LATE_TEXTS))
        late = (
            "import json; from annotation.models import Item, ImportJob; "
            "from training.models import ItemEmbedding; "
            f"job = ImportJob.objects.get(pk={import_id}); "
            f"created = [i.pk for i in Item.objects.filter(project=job.project) if i.text in {_LATE_TEXTS!r}]; "
            "print(json.dumps({'status': job.status, 'items': len(created), "
            "'embedded': ItemEmbedding.objects.filter(item_id__in=created).count()}))"
        )

        def import_embedded() -> bool:
            state = query(default_env, late)
            assert state["status"] not in ("failed", "cancelled"), state
            return state["status"] == "succeeded" and state["embedded"] == len(_LATE_TEXTS)

        wait_for(import_embedded, 600, "the import and its embeddings", logs[0])
        assert _training_job(default_env, training_id)["status"] == "running", (
            "the training job ended before the import was embedded: it proves nothing\n"
            + logs[1].read_text()[-4000:]
        )

        query(
            default_env,
            "import json; from training.models import TrainingJob; "
            "from training.services.training import training_cancel; "
            f"job = TrainingJob.objects.get(pk={training_id}); "
            "training_cancel(actor=job.requested_by, job=job); print(json.dumps(job.pk))",
        )
        wait_for(
            lambda: _training_job(default_env, training_id)["status"] == "cancelled",
            300,
            "the training job to stop after its cancel",
            logs[1],
        )
    finally:
        workers_stop(workers)
