from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance"

    def ready(self):
        from governance.signals import receivers_connect

        receivers_connect()

        from common.jobs.registry import job_kind_register
        from governance.services.audit_trail import AUDIT_VERIFICATION_JOB_KIND

        job_kind_register(AUDIT_VERIFICATION_JOB_KIND)

        from governance.services.key_lifecycle import KEY_REWRAP_JOB_KIND

        job_kind_register(KEY_REWRAP_JOB_KIND)

        from governance.services.key_versions import PROJECT_KEY_REENCRYPT_JOB_KIND

        job_kind_register(PROJECT_KEY_REENCRYPT_JOB_KIND)

        # The http(s) checkpoint sink (a witness) registers itself with the sinks registry on import.
        import governance.checkpoints.witness_sink  # noqa: F401
