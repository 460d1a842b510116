"""The training API: jobs, model versions and their activation (mounted under /api/ by config.api_urls)."""
