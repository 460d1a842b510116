"""Helpers shared by the view tests: logged-in clients, uploads and the htmx request header."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from annotation.services.annotations import annotation_submit
from annotation.services.queue import queue_next_item

HTMX = {"HTTP_HX_REQUEST": "true"}


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def upload(name: str, content: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content.encode(), content_type="application/octet-stream")


def label_first_item(project, user, label="positive"):
    """Take the user's next item from the queue and submit ``label`` for it."""
    item = queue_next_item(actor=user, project=project)
    annotation_submit(actor=user, item=item, value={"labels": [label]}, lead_time_ms=900)
    return item
