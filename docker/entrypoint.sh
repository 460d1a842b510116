#!/bin/sh
# Starts one role of the app: web, worker, gpu-worker, beat, manage <command>, or healthcheck [path...];
# anything else runs as given.
set -eu
# The image installs the app in /app; APP_DIR lets the same script start a checkout elsewhere
# (tests/deploy/test_multi_host.py runs every role of a multi-host layout through it).
cd "${APP_DIR:-/app}"

role="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$role" in
    web)
        python manage.py migrate --noinput
        python manage.py collectstatic --noinput --verbosity 0
        # gunicorn also reads WEB_CONCURRENCY for the number of worker processes.
        exec gunicorn config.wsgi --bind "0.0.0.0:${PORT:-8000}" --access-logfile - "$@"
        ;;
    worker)
        # Imports, exports and other CPU work; WORKER_QUEUES=default,gpu also takes ML jobs on CPU.
        exec celery -A config worker -Q "${WORKER_QUEUES:-default}" --loglevel INFO "$@"
        ;;
    gpu-worker)
        # Pre-annotation and training: one task at a time per GPU.
        exec celery -A config worker -Q gpu --pool=solo --concurrency=1 --loglevel INFO "$@"
        ;;
    beat)
        exec celery -A config beat --loglevel INFO --schedule "${DATA_DIR:-/data}/celerybeat-schedule" "$@"
        ;;
    manage)
        exec python manage.py "$@"
        ;;
    healthcheck)
        # compose's health check of a web container (and the multi-host test's): asks this host's gunicorn
        # for each path given (default /healthz, then /readyz) under the first ALLOWED_HOSTS name, as the
        # proxy would (production refuses other names); exits 1 naming the first that does not answer 200.
        exec python - "$@" <<'PYTHON'
import os, sys, urllib.error, urllib.request
host = os.environ.get("ALLOWED_HOSTS", "").split(",")[0].strip().lstrip(".")
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never an HTTP(S)_PROXY
for path in sys.argv[1:] or ["healthz", "readyz"]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/{path.lstrip('/')}",
        headers={"Host": host if host not in ("", "*") else "localhost"},
    )
    try:
        with opener.open(request, timeout=5) as response:
            print(f"/{path.lstrip('/')}: {response.status} {response.read(500).decode(errors='replace')}")
    except urllib.error.HTTPError as error:
        sys.exit(f"/{path.lstrip('/')}: {error.code} {error.read(500).decode(errors='replace')}")
    except OSError as error:
        sys.exit(f"/{path.lstrip('/')}: {error}")
PYTHON
        ;;
    *)
        exec "$role" "$@"
        ;;
esac
