"""HTML pages of model training: jobs with live progress, the model registry, evaluation and comparison."""
