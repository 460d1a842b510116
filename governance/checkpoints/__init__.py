"""Signed checkpoints of the audit chain, published outside the database (issue 19, item 1)."""
