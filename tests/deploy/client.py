"""The API clients of the multi-host test: run on the client host, they talk only to the proxy.

``python -m tests.deploy.client loop CONFIG RESULT`` drives the whole loop through
https://annotator.test (import, labelling by eight annotators at once, review, dataset version,
training, activation with its pre-annotation, exports) and writes what the server acknowledged
to RESULT as JSON; the test, outside, checks it. ``probe URL`` exits 0 once URL answers 200
(the test waits so for the proxy). Plain ``requests``: no Django, no project import.
"""

import json
import socket
import sys
import threading
import time
from urllib.parse import urljoin

import requests

POSITIVE = [
    "The support team solved my problem within minutes",
    "Delivery was early and the box was perfect",
    "I love how light and quick the new version feels",
    "Great value, the quality surprised me",
    "The staff were friendly and patient with every question",
    "Setup took two minutes and everything worked",
    "Wonderful battery life, it lasts the whole week",
    "The refund arrived the same day, thank you",
    "Clear instructions and a sturdy build",
    "The food was delicious and the portions generous",
    "Excellent sound, my favourite headphones so far",
    "Fast answers from the help desk and a kind tone",
    "The room was clean, quiet and comfortable",
    "A lovely app, simple and reliable",
]
NEGATIVE = [
    "The parcel arrived broken and nobody answers the phone",
    "Terrible update, the app crashes every time I open it",
    "The refund never came and support ignores my emails",
    "Cheap plastic that cracked after one day",
    "The staff were rude and the queue took an hour",
    "Setup failed three times and the manual is useless",
    "The battery dies before lunch, very disappointing",
    "Wrong size, wrong colour and no reply from the shop",
    "The food was cold and the bill was wrong",
    "Awful sound, the left speaker buzzes constantly",
    "The room smelled of smoke and the heating was broken",
    "Slow, buggy and the login keeps failing",
    "I waited three weeks for a parcel that never came",
    "Overpriced and it stopped working after a week",
]
ANNOTATORS = 8
OVERLAP = 2
WAIT_SECONDS = 240


def texts_make(first: int, count: int) -> list[dict]:
    """Rows of an import: alternating positive and negative texts, the truth in the external id."""
    rows = []
    for number in range(first, first + count):
        kind, pool = ("p", POSITIVE) if number % 2 == 0 else ("n", NEGATIVE)
        rows.append({"id": f"{kind}{number:03d}", "text": f"{pool[(number // 2) % len(pool)]} (order {number})."})
    return rows


def truth(external_id: str) -> str:
    return "positive" if external_id.startswith("p") else "negative"


def answer(external_id: str, annotator: int) -> str:
    """Mostly the truth; some annotators flip some items, so that review has disagreements to settle."""
    flipped = (int(external_id[1:]) + annotator) % 5 == 0
    right = truth(external_id)
    return ("negative" if right == "positive" else "positive") if flipped else right


class Api:
    """One user's token session against the proxy."""

    def __init__(self, base: str, ca: str, token: str | None = None):
        self.base = base
        self.session = requests.Session()
        self.session.verify = ca
        self.next_links: list[str] = []  # absolute links the app built: their scheme is what it saw
        if token:
            self.session.headers["Authorization"] = f"Token {token}"

    def call(self, method: str, path: str, expect=(200,), **kwargs) -> requests.Response:
        url = urljoin(self.base, path)
        response = self.session.request(method, url, timeout=120, allow_redirects=False, **kwargs)
        if response.status_code not in expect:
            raise RuntimeError(f"{method} {url} answered {response.status_code}, expected {expect}: {response.text[:2000]}")
        return response

    def json(self, method: str, path: str, expect=(200,), **kwargs):
        response = self.call(method, path, expect, **kwargs)
        return response.json() if response.content else None

    def pages(self, path: str) -> list:
        rows, url = [], path
        while url:
            page = self.json("GET", url)
            rows.extend(page["results"])
            url = page["next"]
            if url:
                self.next_links.append(url)
        return rows

    def wait(self, path: str, done: set[str], key: str = "status") -> dict:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            body = self.json("GET", path)
            if body[key] in done:
                return body
            if time.monotonic() > deadline:
                raise RuntimeError(f"{path} still {body[key]} after {WAIT_SECONDS} s: {body}")
            time.sleep(0.5)


def _import(lead: Api, pid: int, rows: list[dict], name: str) -> dict:
    lines = "".join(json.dumps(row) + "\n" for row in rows).encode()
    job = lead.json("POST", f"/api/projects/{pid}/import/", (202,), files={"file": (name, lines)})
    return lead.wait(job["url"], {"succeeded", "failed"})


def _label(api: Api, pid: int, annotator: int, acknowledged: list, errors: list) -> None:
    try:
        while True:
            handed = api.call("POST", f"/api/projects/{pid}/next/", (200, 204))
            if handed.status_code == 204:
                return
            item = handed.json()["item"]
            body = {"value": {"labels": [answer(item["external_id"], annotator)]}, "lead_time_ms": 900}
            stored = api.json("POST", f"/api/projects/{pid}/items/{item['id']}/annotations/", (201,), json=body)
            acknowledged.append(
                {"id": stored["id"], "item": item["id"], "external_id": item["external_id"], "annotator": stored["annotator"], "value": stored["value"]}
            )
    except Exception as error:  # noqa: BLE001 - reported to the test, which fails with it
        errors.append(f"annotator {annotator}: {error}")


def _unreachable(address: str, port: int) -> str:
    """How a direct connection from the client host to a back-end host fails ('' if it succeeds)."""
    try:
        with socket.create_connection((address, port), timeout=3):
            return ""
    except OSError as error:
        return str(error) or type(error).__name__


def loop(config: dict) -> dict:
    base, ca = config["base"], config["ca"]
    result = {"phases": {}}
    started = time.monotonic()

    def phase(name: str) -> None:
        nonlocal started
        now = time.monotonic()
        result["phases"][name] = round(now - started, 2)
        print(f"client phase {name}: {now - started:.1f} s", flush=True)
        started = now

    anonymous = Api(base, ca)
    tokens = {}
    for username, password in config["users"].items():
        tokens[username] = anonymous.json(
            "POST", "/api/auth/token/", (200, 201), data={"username": username, "password": password, "name": "multi-host test"}
        )["token"]
    clients = {username: Api(base, ca, token) for username, token in tokens.items()}
    lead, reviewer, engineer = clients["lead"], clients["reviewer"], clients["engineer"]
    annotators = [clients[f"annotator{index}"] for index in range(ANNOTATORS)]
    result["direct_to_web"] = _unreachable(config["web_address"], 8000)
    result["http_redirect"] = requests.get(base.replace("https://", "http://") + "/api/projects/", allow_redirects=False, timeout=30).headers.get("Location")
    phase("tokens")

    project = lead.json(
        "POST",
        "/api/projects/",
        (201,),
        json={
            "name": "Multi-host reviews",
            "task_type": "single_label",
            "overlap": OVERLAP,
            "labels": [
                {"name": "positive", "description": "The writer is pleased, happy or approving."},
                {"name": "negative", "description": "The writer is unhappy, angry or critical."},
            ],
        },
    )
    pid = result["project"] = project["id"]
    members = [("reviewer", "reviewer"), ("engineer", "ml_engineer")] + [(f"annotator{index}", "annotator") for index in range(ANNOTATORS)]
    for username, role in members:
        lead.json("POST", f"/api/projects/{pid}/members/", (200, 201), json={"username": username, "role": role})
    rows = texts_make(0, config["items"])
    result["import"] = _import(lead, pid, rows, "reviews.jsonl")
    phase("import")

    acknowledged, errors = [], []
    threads = [threading.Thread(target=_label, args=(api, pid, index, acknowledged, errors)) for index, api in enumerate(annotators)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result["acknowledged"], result["labelling_errors"] = acknowledged, errors
    phase("label")

    reviewed = []
    while True:
        held = reviewer.call("POST", f"/api/projects/{pid}/review/next/", (200, 204))
        if held.status_code == 204:
            break
        item = held.json()["item"]
        reviewer.json(
            "POST",
            f"/api/projects/{pid}/items/{item['id']}/review/resolve/",
            json={"value": {"labels": [truth(item["external_id"])]}, "comment": "settled by the guideline"},
        )
        reviewed.append(item["id"])
    result["reviewed"] = reviewed
    result["finals"] = lead.pages(f"/api/projects/{pid}/finals/")
    phase("review")

    created = engineer.call("POST", f"/api/projects/{pid}/datasets/", (202,), json={"name": "multi-host v1"})
    result["dataset"] = engineer.wait(created.headers["Location"], {"ready", "failed"})
    phase("dataset version")

    started_job = engineer.call(
        "POST",
        f"/api/projects/{pid}/training-jobs/",
        (202,),
        json={
            "dataset_version": result["dataset"]["number"],
            "hyperparameters": {"epochs": 1, "batch_size": 8, "max_length": 32, "min_steps": 0, "learning_rate": 0.0005},
            "time_limit_seconds": 600,
        },
    )
    result["training"] = engineer.wait(started_job.headers["Location"], {"succeeded", "failed", "cancelled"})
    phase("train")

    # Items nobody labelled, for the activated model to pre-annotate.
    result["import_unlabelled"] = _import(lead, pid, texts_make(config["items"], config["unlabelled"]), "more.jsonl")
    activated = engineer.call(
        "POST", f"/api/projects/{pid}/models/{result['training']['model_version']}/activate/", (202,), json={"confirm": True}
    )
    result["activated"] = activated.json()["model_version"]
    result["preannotation"] = engineer.wait(activated.headers["Location"], {"succeeded", "failed"})
    result["predictions"] = lead.pages(f"/api/projects/{pid}/predictions/")
    phase("activate and pre-annotate")

    streamed = lead.call("GET", f"/api/projects/{pid}/export/?format=jsonl", stream=True)
    result["export_streamed"] = [json.loads(line) for line in streamed.iter_lines() if line]
    export = lead.call("POST", f"/api/projects/{pid}/exports/", (202,), json={"format": "jsonl"})
    export = lead.wait(export.headers["Location"], {"ready", "failed"})
    result["export_job"] = {key: value for key, value in export.items() if key != "download_url"}
    if export["status"] == "ready":
        body = lead.call("GET", export["download_url"]).content.decode()
        result["export_file"] = [json.loads(line) for line in body.splitlines() if line]
    result["annotations"] = lead.pages(f"/api/projects/{pid}/annotations/")
    result["next_links"] = lead.next_links
    phase("export")
    return result


def probe(url: str) -> int:
    """0 when ``url`` answers 200 (the proxy's /readyz, trusted through REQUESTS_CA_BUNDLE)."""
    try:
        return 0 if requests.get(url, timeout=5, allow_redirects=False).status_code == 200 else 1
    except requests.RequestException:
        return 1


if __name__ == "__main__":
    if sys.argv[1] == "probe":
        sys.exit(probe(sys.argv[2]))
    with open(sys.argv[2]) as handle:
        outcome = loop(json.load(handle))
    with open(sys.argv[3], "w") as handle:
        json.dump(outcome, handle)
