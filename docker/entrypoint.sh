#!/bin/sh
# Starts one role of the app: web, worker, gpu-worker, beat, or manage <command>; anything else runs as given.
set -eu
cd /app

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
    *)
        exec "$role" "$@"
        ;;
esac
