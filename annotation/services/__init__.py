"""Every write to annotation data goes through a function here, in one transaction with its audit event."""
