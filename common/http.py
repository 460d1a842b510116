"""HTTP status codes the HTML views answer with, named once for every app."""

BAD_REQUEST = 400
UNAUTHORIZED = 401
FORBIDDEN = 403
# A form that was read but not accepted: htmx swaps the re-rendered form in on this status.
UNPROCESSABLE = 422
TOO_MANY_REQUESTS = 429
