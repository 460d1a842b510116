from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    name = "annotation"
    verbose_name = "Annotation"

    def ready(self) -> None:
        # The permission gate (governance, below this app) asks annotation's tables which items an
        # annotator was handed; registered here so the gate imports nothing above it.
        from annotation.selectors import item_for_reader
        from governance.access import item_lookup_register

        item_lookup_register(item_for_reader)

        from annotation.services.exports import EXPORT_JOB_KIND
        from annotation.services.import_jobs import IMPORT_JOB_KIND
        from common.jobs.registry import job_kind_register

        job_kind_register(IMPORT_JOB_KIND)
        job_kind_register(EXPORT_JOB_KIND)
        from annotation.services.item_bulk import ITEM_BULK_JOB_KIND

        job_kind_register(ITEM_BULK_JOB_KIND)
        from annotation.services.neardup_jobs import NEARDUP_JOB_KIND

        job_kind_register(NEARDUP_JOB_KIND)

        # Shredding a project (governance) drops its keyed hashes with the key: the word index
        # and the near-duplicate buckets.
        from annotation.services.item_words import item_words_shred
        from annotation.services.neardup_store import neardup_buckets_shred
        from governance.services.keys import data_shred_hook_register

        data_shred_hook_register(item_words_shred)
        data_shred_hook_register(neardup_buckets_shred)

        # Export files sealed under a data-key version: counted before that version is destroyed.
        from django.utils.translation import gettext_lazy

        from annotation.selectors.exports import export_files_by_key_version
        from governance.selectors.key_versions import key_version_holder_register

        key_version_holder_register(gettext_lazy("export files"), export_files_by_key_version)

        # A restore (governance) checks that texts open, and moves the paths of files kept in ARTIFACT_DIR.
        from annotation.models import ExportRecord, ImportJob
        from annotation.services.restore_checks import items_open_check
        from governance.services.backup import artifact_path_field_register, restore_check_register

        restore_check_register("Item texts and annotations", items_open_check)
        artifact_path_field_register(ExportRecord, "file_path")
        artifact_path_field_register(ImportJob, "upload_path")
