"""HTML pages of the governance app: the audit trail, roles, retention and erasure, sessions, and API tokens."""
