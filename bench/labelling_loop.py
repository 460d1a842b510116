"""Run the shared peer workload (import, next + submit with 1 and 8 annotators, export) on this app.

Creates an admin and 8 annotators with API tokens in the configured database, serves the app
with gunicorn on 127.0.0.1, drives it through bench/peer_adapter.py (the shared harness's own
code), then stops the server. Compare with ../shared/peers/RESULTS.md, or run the peers too:
``PEERS_DIR=... SIZES=10000 bash ../shared/peers/run_all.sh``.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/labelling_loop.py --sizes 10000
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def accounts_create(count: int) -> dict:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    from governance.services.tokens import api_token_create

    User = get_user_model()

    def user(name, **extra):
        found = User.objects.filter(username=name).first()
        return found or User.objects.create_user(username=name, password=None, **extra)

    admin = user("bench-admin")
    admin.user_permissions.add(Permission.objects.get(codename="add_project"))
    tokens = {"admin": {"username": admin.username, "token": api_token_create(actor=admin, user=admin, name="bench")[1]}}
    tokens["annotators"] = []
    for index in range(1, count + 1):
        annotator = user(f"bench-annotator{index}")
        token = api_token_create(actor=annotator, user=annotator, name="bench")[1]
        tokens["annotators"].append({"username": annotator.username, "token": token})
    return tokens


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000")
    parser.add_argument("--annotations", type=int, default=200)
    parser.add_argument("--port", type=int, default=18100)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "labelling_loop.json"))
    args = parser.parse_args()

    tokens_file = Path("/tmp/sensitive-annotator-bench-tokens.json")
    tokens_file.write_text(json.dumps(accounts_create(8)))
    tokens_file.chmod(0o600)

    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{args.port}",
         "--workers", str(args.workers), "--log-level", "warning"],
        cwd=ROOT, start_new_session=True,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{args.port}/accounts/login/", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        Path(args.out).parent.mkdir(exist_ok=True)
        return subprocess.call(
            [sys.executable, str(ROOT / "bench" / "peer_adapter.py"), "--peer", "sensitive-annotator",
             "--base-url", f"http://127.0.0.1:{args.port}", "--tokens-file", str(tokens_file),
             "--sizes", args.sizes, "--annotations", str(args.annotations), "--concurrency", "1,8",
             "--pid", f"web={server.pid}", "--out", args.out],
            cwd=ROOT,
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
