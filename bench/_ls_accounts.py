"""Create the accounts of a ``ls-tokens.json`` that Label Studio lacks, in one process (its own Python).

``../shared/peers/ls_start.sh`` creates each account with a ``label-studio init`` of its own:
one Django start-up per account, about 45 s each on this shared two-core machine, so about
50 minutes for the 65 accounts of the load benchmark. This does what ``label-studio init
--username --password --user-token --enable-legacy-api-token`` does (its own ``_create_user``:
a superuser in the first organisation, the given legacy token) for every account at once, then
``ls_start.sh`` finds the tokens file and only starts the server. Run with Label Studio's venv:

    PEERS_DIR=/tmp/peers-load $PEERS_DIR/ls-venv/bin/python bench/_ls_accounts.py
"""

import json
import os
import sys
from argparse import Namespace
from pathlib import Path


def main() -> int:
    peers_dir = Path(os.environ["PEERS_DIR"])
    os.environ.setdefault("LABEL_STUDIO_BASE_DATA_DIR", str(peers_dir / "ls-data"))
    os.environ.setdefault("LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN", "true")
    os.environ.update(SENTRY_DSN="", FRONTEND_SENTRY_DSN="", LATEST_VERSION_CHECK="false", COLLECT_ANALYTICS="false")
    from label_studio import server

    server._setup_env()
    server._apply_database_migrations()
    from users.models import User

    tokens = json.loads((peers_dir / "ls-tokens.json").read_text())
    password = os.environ.get("LS_BENCH_PASSWORD", f"bench-pass-{os.getuid()}")
    created = 0
    for account in [tokens["admin"], *tokens["annotators"]]:
        if User.objects.filter(email=account["email"]).exists():
            continue
        server._create_user(
            Namespace(username=account["email"], password=password, user_token=account["token"],
                      enable_legacy_api_token=True, quiet_mode=True),
            {},
        )  # fmt: skip
        created += 1
    print(f"{created} accounts created, {1 + len(tokens['annotators'])} in the tokens file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
