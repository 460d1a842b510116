"""The background-job lifecycle every job kind shares: an abstract model, its state changes and a registry of kinds."""
