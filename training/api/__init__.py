"""The training API: dataset versions, jobs, model versions and their activation, active learning
(routes in urls.py, mounted under /api/ by config.api_urls)."""
