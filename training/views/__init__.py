"""HTML pages of training: jobs with live progress, the model registry, evaluation and comparison (pages.py),
dataset versions (datasets.py) and active learning with its label-issue queue (active.py)."""
