"""Governance's tables, one module per concept; importing them here registers them with the app."""

# The project permission tables belong to the permission gate, the one module that talks to
# django-guardian; importing them here registers them with the governance app.
from governance.access import ProjectGroupObjectPermission, ProjectUserObjectPermission  # noqa: F401
from governance.models.archive import AuditArchive, AuditArchiveState
from governance.models.audit import AuditEvent, AuditVerification
from governance.models.checkpoints import AuditCheckpoint, AuditCheckpointDelivery
from governance.models.key_lifecycle import (
    KeyRewrap,
    KeyringStamp,
    MasterKeyState,
    MasterKeyVersion,
    ProjectKeyState,
)
from governance.models.keys import ProjectKey
from governance.models.members import Membership
from governance.models.retention import ErasureRequest, ErasureStatus, ProjectRetention, ScheduleRun
from governance.models.siem import SiemCursor
from governance.models.tokens import ApiToken

__all__ = [
    "ApiToken",
    "AuditArchive",
    "AuditArchiveState",
    "AuditCheckpoint",
    "AuditCheckpointDelivery",
    "AuditEvent",
    "AuditVerification",
    "ErasureRequest",
    "ErasureStatus",
    "KeyRewrap",
    "KeyringStamp",
    "MasterKeyState",
    "MasterKeyVersion",
    "Membership",
    "ProjectKey",
    "ProjectKeyState",
    "ProjectRetention",
    "ScheduleRun",
    "SiemCursor",
]
