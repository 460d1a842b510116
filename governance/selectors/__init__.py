"""Reads of governance's data, one module per concept: the audit trail, roles and API tokens."""
