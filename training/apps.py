from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Training"

    def ready(self):
        # annotation sits below training and must not import it: it calls these through its hooks.
        from annotation.hooks import Hook, hook_register
        from training.selectors.datasets import dataset_version_item_ids, item_dataset_versions
        from training.services.active_learning import (
            active_learning_config,
            active_learning_labels_added,
        )
        from training.services.dataset_erasure import dataset_versions_purge
        from training.services.datasets import dataset_version_from_items
        from training.services.embeddings import embeddings_compute_request
        from training.services.item_texts import item_texts_changed
        from training.views.panels import panels_register

        # A new project's loop starts with the default for its task type (margin for single-label).
        hook_register(Hook.PROJECT_CREATED, active_learning_config)
        hook_register(Hook.LABELS_ADDED, active_learning_labels_added)
        hook_register(Hook.ITEMS_IMPORTED, embeddings_compute_request)
        hook_register(Hook.ITEMS_PURGING, dataset_versions_purge)
        # Dataset-version files sealed under a data-key version: counted before that version is destroyed.
        from django.utils.translation import gettext_lazy

        from governance.selectors.key_versions import key_version_holder_register
        from training.selectors.datasets import dataset_files_by_key_version

        key_version_holder_register(gettext_lazy("dataset-version files"), dataset_files_by_key_version)
        # The item browser: its dataset-version filter and column, and its "make a version" action.
        hook_register(Hook.DATASET_VERSION_ITEMS, dataset_version_item_ids)
        hook_register(Hook.ITEM_DATASET_VERSIONS, item_dataset_versions)
        hook_register(Hook.DATASET_VERSION_FROM_ITEMS, dataset_version_from_items)
        hook_register(Hook.ITEM_TEXT_CHANGED, item_texts_changed)
        panels_register()

        # A restore (governance) verifies dataset versions and loads models, and moves their stored paths.
        from governance.services.backup import artifact_path_field_register, restore_check_register
        from training.models import DatasetVersion, ModelVersion
        from training.services.restore_checks import dataset_versions_check, model_versions_check

        restore_check_register("Dataset versions", dataset_versions_check)
        restore_check_register("Model versions", model_versions_check)
        artifact_path_field_register(DatasetVersion, "file_path")
        artifact_path_field_register(ModelVersion, "artifact_path")

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
