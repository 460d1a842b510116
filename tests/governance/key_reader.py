"""A second process that holds a project's key cached: answers each line on stdin with "ok <cached>" or "refused <error>"."""

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from governance import keyring  # noqa: E402
from governance.keyring import DataUnavailable  # noqa: E402

project_id = int(sys.argv[1])
for _line in sys.stdin:
    was_cached = project_id in keyring._cache
    try:
        keyring.project_cipher(project_id)
    except DataUnavailable as error:
        print(f"refused {type(error).__name__}", flush=True)
    else:
        print(f"ok {was_cached}", flush=True)
