"""The governance API: API tokens and project members."""
