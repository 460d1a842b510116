"""Seed a fresh database with a labelling project for a fault test's server; prints what the test needs as JSON.

Run by the test in a process of its own (``python -m tests.faults.labelling_site``) with DATABASE_URL
pointing at the test's private PostgreSQL cluster, after ``manage.py migrate``.
"""

import json
import os


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from governance.roles import ProjectRole
    from governance.services.tokens import api_token_create
    from tests.factories import project_make, user_make

    manager, annotator = user_make("manager"), user_make("annotator", password="labelling-password-1")
    texts = [f"Message {index}: the delivery {('was late', 'came early', 'arrived')[index % 3]} again." for index in range(1000)]
    project = project_make(manager=manager, texts=texts, members={annotator: ProjectRole.ANNOTATOR}, active_learning="off")
    _, token = api_token_create(actor=annotator, user=annotator, name="fault test")
    print(json.dumps({"project": project.pk, "token": token, "username": "annotator", "password": "labelling-password-1"}))


if __name__ == "__main__":
    main()
