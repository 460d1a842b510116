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
