from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Training"

    def ready(self):
        # annotation sits below training and must not import it: it calls these through its hooks.
        from annotation.hooks import Hook, hook_register
        from training.services.active_learning import active_learning_labels_added
        from training.services.dataset_erasure import dataset_versions_purge
        from training.services.embeddings import embeddings_compute_request
        from training.views.panels import panels_register

        hook_register(Hook.LABELS_ADDED, active_learning_labels_added)
        hook_register(Hook.ITEMS_IMPORTED, embeddings_compute_request)
        hook_register(Hook.ITEMS_PURGING, dataset_versions_purge)
        panels_register()

        from common.jobs.registry import job_kind_register
        from training.services.active_learning import ACTIVE_LEARNING_REFRESH_JOB_KIND
        from training.services.datasets import DATASET_BUILD_JOB_KIND
        from training.services.label_issues import LABEL_CHECK_JOB_KIND
        from training.services.preannotation import PREANNOTATION_JOB_KIND
        from training.services.training import TRAINING_JOB_KIND

        job_kind_register(PREANNOTATION_JOB_KIND)
        job_kind_register(TRAINING_JOB_KIND)
        job_kind_register(DATASET_BUILD_JOB_KIND)
        job_kind_register(LABEL_CHECK_JOB_KIND)
        job_kind_register(ACTIVE_LEARNING_REFRESH_JOB_KIND)
