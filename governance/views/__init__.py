"""HTML pages of the governance app: the audit trail, roles, project members, sessions, and API tokens."""
