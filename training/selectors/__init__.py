"""Reads of training's data, one module per concept: pre-annotation, datasets, training (jobs, model versions,
evaluation) and active learning. Callers have already passed the permission gate for the project."""
