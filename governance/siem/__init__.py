"""SIEM export of the audit trail: events as ECS records (formats) and where they go (transports)."""
