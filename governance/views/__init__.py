"""HTML pages of the governance app: the audit trail and who holds which role, for auditors and admins."""
