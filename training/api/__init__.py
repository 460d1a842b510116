"""The training API: jobs, model versions and their activation (mounted under /api/ by annotation.api.urls)."""
