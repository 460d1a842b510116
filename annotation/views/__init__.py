"""HTML pages and htmx partials; each view reaches its project only through governance.access."""
