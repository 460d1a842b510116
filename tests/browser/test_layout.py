"""Every page at a laptop's width (1366 px) and a phone's (390 px), checked against layout rules a script can see.

The tour visits each HTML page of the app as a role that may see it, over data with the long names
real projects have (model versions, labels, user names), and collects what breaks the rules in
``LAYOUT_PROBLEMS`` below: the page scrolling sideways, content sticking out of its card, text cut
off without a title that gives it whole, chart text cut by the chart's edge, a check box away from
its label, a text box floated or squeezed beside its label, the top bar running into the page.
A page with a problem is saved as a screenshot in test-artifacts/ (``layout-desktop-<page>.png``, ``layout-phone-<page>.png``).

``test_every_html_page_is_on_the_layout_tour`` keeps the tour complete: a new page needs a stop
here, or an entry in ``NOT_PAGES`` saying why it is not a page of its own.
"""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.urls import reverse
from django.utils import timezone

from annotation.models import ImportJob, ItemBulkJob, PiiFinding, Prediction, SuggestionOutcome
from annotation.services.annotations import annotation_submit
from annotation.services.exports import export_build, export_request
from annotation.services.projects import project_update
from annotation.services.queue import queue_next_item
from common.jobs.models import JobStatus
from governance.models import AuditVerification, ErasureRequest
from governance.roles import ProjectRole
from governance.services.roles import global_role_set
from projects.models import TaskType
from tests.annotation.quality_support import answer, labelled
from tests.browser.conftest import ARTIFACTS
from tests.factories import item_hand, project_make, superuser_make, user_make
from tests.governance.permission_table import TABLE
from training.models import ModelVersion, TrainingJob
from training.models.active import LabelIssue
from training.services.datasets import dataset_version_build, dataset_version_create

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}

# Names as long as the ones real projects brought, which cut charts and stretched pages.
PROJECT_NAME = "Customer feedback from the Nordic retail stores, spring campaign"
LONG_LABEL = "mixed feelings about price and delivery"
LABELS = [
    {"name": "positive", "color": "#2ca02c", "description": "The writer is pleased, happy or approving."},
    {"name": "negative", "color": "#d62728", "description": "The writer is unhappy, angry or critical."},
    {"name": "neutral", "color": "#7f7f7f", "description": "Plain facts with no clear feeling either way."},
    {"name": LONG_LABEL, "color": "#9467bd", "description": "Pleased with one thing, unhappy with another."},
]
MODEL_NAME = "distilbert-base-multilingual-cased-sentiment-2024-06-01T12:00:00Z"
TEXTS = [
    "The support team solved my problem within minutes, wonderful service.",
    "The parcel arrived broken and nobody answers the phone.",
    "The meeting is scheduled for Tuesday at ten.",
    "I love how light and quick the new version feels.",
    "Terrible update, the app crashes every time I open it.",
    "The library closes at six on weekdays.",
    "Great price, but the delivery took three weeks and the box was crushed.",
    "Write to customer.care.department@nordic-retail-example.com about reference ZX-2024-000123456789.",
]

# Named GET routes outside /api/ that are not pages of their own, and why.
NOT_PAGES = {
    "annotation:label-next": "an htmx fragment of the labelling page (the next item)",
    "annotation:label-item": "an htmx fragment of the labelling page (one item)",
    "annotation:review-next": "an htmx fragment of the review page",
    "annotation:review-item": "an htmx fragment of the review page",
    "training:preannotation-status": "an htmx fragment of the project and models pages",
    "annotation:import-job-report": "a CSV download",
    "annotation:annotations-export": "a JSONL or CSV download",
    "datasets:row": "an htmx fragment of the dataset list (one row)",
    "datasets:diff": "an htmx fragment of the dataset detail page",
    "datasets:download": "a file download",
    "training:job": "an htmx fragment of the models page (one job card)",
    "active:status": "an htmx fragment of the active-learning page",
    "governance:audit-export": "a CSV download",
    "governance:audit-verification": "an htmx fragment of the audit page",
    "annotation:items-count": "an htmx fragment of the item browser (the count sentence)",
    "healthz": "a health check for load balancers (plain text)",
    "readyz": "a readiness check for load balancers (JSON)",
    "metrics": "Prometheus's scrape endpoint (text, bearer token)",
}


@dataclass
class Stop:
    """One page of the tour: a URL name, the actor who opens it, and how to fill its URL."""

    name: str
    url_name: str
    actor: str
    # The URL's arguments, from the World.
    kwargs: Callable[["World"], dict] = lambda world: {}
    query: str = ""
    # A selector that is on the page once its htmx content has arrived.
    ready: str = "main.page"


class World:
    """A project with every role, long names and some of everything, plus a multi-label and a span project."""

    def __init__(self):
        self.users = {
            "manager": user_make("manager"),
            "annotator": user_make("annotator"),
            "annotator2": user_make("margarethe.vanderberg-schmidt"),
            "reviewer": user_make("reviewer"),
            "ml_engineer": user_make("ml_engineer"),
            "auditor": user_make("auditor"),
            "admin": superuser_make(),
        }
        global_role_set(actor="tests", user=self.users["auditor"], role="auditor")
        manager, first, second = self.users["manager"], self.users["annotator"], self.users["annotator2"]
        self.project = project_make(
            manager=manager,
            name=PROJECT_NAME,
            labels=LABELS,
            texts=TEXTS,
            # The queue keeps import order: a worker's refresh must not re-rank it mid-setup.
            active_learning="off",
            members={
                first: ProjectRole.ANNOTATOR,
                second: ProjectRole.ANNOTATOR,
                self.users["reviewer"]: ProjectRole.REVIEWER,
                self.users["ml_engineer"]: ProjectRole.ML_ENGINEER,
            },
        )
        project = self.project
        project_update(actor=manager, project=project, overlap=2, gold_rate=0.0)
        # Two items the annotators disagree on (waiting for review), two they agree on.
        for first_label, second_label in (
            ("positive", LONG_LABEL),
            ("negative", "negative"),
            ("neutral", "negative"),
            (LONG_LABEL, LONG_LABEL),
        ):
            item = queue_next_item(actor=first, project=project)
            # Handed to the second annotator directly: with the session's worker still busy with
            # earlier tests' tasks, the queue's order is not this setup's to rely on.
            item_hand(actor=second, item=item)
            annotation_submit(actor=first, item=item, value=labelled(first_label), comment="Hard to tell.")
            annotation_submit(actor=second, item=item, value=labelled(second_label))
        # Suggestions from a model with a long version name, taken and changed.
        for item, outcome in zip(project.items.order_by("id")[4:6], SuggestionOutcome.values):
            prediction = Prediction.objects.create(
                project=project, item=item, model_version=MODEL_NAME, value=labelled("positive"), score=0.8
            )
            answer(item, first, labelled("positive"), prediction=prediction, outcome=outcome, lead_time_ms=900)
        self.first_item = project.items.order_by("id").first()
        self.dataset = dataset_version_build(
            version_id=dataset_version_create(actor=manager, project=project, name="spring campaign, all answers").pk
        )
        labels = [label["name"] for label in LABELS]
        report = {name: {"precision": 0.5, "recall": 0.5, "f1-score": 0.5, "support": 2} for name in labels}
        scores = {
            "metric": "accuracy",
            "value": 0.5,
            "report": report,
            "confusion_matrix": {"labels": labels, "matrix": [[1, 1, 0, 0], [0, 2, 0, 0], [0, 0, 1, 1], [1, 0, 0, 1]]},
        }
        metrics = {"metric": "accuracy", "dev": scores, "test": scores, "examples": {"train": 6, "dev": 1, "test": 1}}
        versions = []
        for number in (1, 2):
            job = TrainingJob.objects.create(
                project=project, dataset_version=self.dataset, requested_by=manager, status=JobStatus.SUCCEEDED
            )
            versions.append(
                ModelVersion.objects.create(
                    project=project, number=number, name=f"{MODEL_NAME}-v{number}", training_job=job,
                    dataset_version=self.dataset, dataset_hash=self.dataset.content_hash,
                    base_model_name="distilbert-base-multilingual-cased", base_model_fingerprint="0" * 64,
                    code_version="test", metrics=metrics, device="cpu", artifact_path=f"/nonexistent/layout-{number}",
                    hyperparameters={"labels": labels, "learning_rate": 3e-5, "epochs": 3},
                )
            )
        self.first_model = versions[0]
        TrainingJob.objects.create(project=project, dataset_version=self.dataset, requested_by=manager)
        self.import_job = ImportJob.objects.create(
            project=project, requested_by=manager, filename="spring-campaign-feedback-export-2024-06-01.jsonl",
            format="jsonl", status="failed", progress_done=3, errors_count=1,
            report={"errors": [{"file": "spring-campaign-feedback-export-2024-06-01.jsonl", "member": "", "row": 3,
                                "field": "text", "message": "The text is empty; give each row a non-empty 'text'."}]},
        )
        PiiFinding.objects.create(
            project=project, item=project.items.order_by("id")[7], entity="EMAIL_ADDRESS", start=9, end=56, score=1.0, action="keep"
        )
        # A near-duplicate group for its review page: the long e-mail text beside the crushed-box one.
        near = list(project.items.order_by("id")[6:8])
        project.items.filter(pk=near[1].pk).update(duplicate_of=near[0])
        LabelIssue.objects.create(
            project=project, item=project.items.order_by("id")[6], given_label="positive", suggested_label=LONG_LABEL, quality=0.02
        )
        self.export = export_build(export_id=export_request(actor=manager, project=project, fmt="csv").pk)
        # A finished bulk action for its progress page: three items sent to review, one skipped.
        self.bulk_job = ItemBulkJob.objects.create(
            project=project, requested_by=manager, action="review", filters={"status": ["done"]},
            item_count=4, status=JobStatus.SUCCEEDED, progress_done=4, progress_total=4,
            started_at=timezone.now(), finished_at=timezone.now(),
            result={"changed": 3, "skipped": {"Gold items are not sent to review.": 1}},
        )
        AuditVerification.objects.create(requested_by=self.users["auditor"])
        ErasureRequest.objects.create(
            subject_index="0" * 64, project=project, requested_by=self.users["admin"],
            reason="Request from the customer, received by e-mail on 1 June.",
        )
        self.multi = project_make(
            manager=manager, name="Topics of the spring campaign", task_type=TaskType.MULTI_LABEL,
            labels=LABELS, texts=TEXTS[:2], members={first: ProjectRole.ANNOTATOR},
        )
        self.spans = project_make(
            manager=manager, name="People and places", task_type=TaskType.SPANS,
            labels=[{"name": "PERSON"}, {"name": "LOCATION"}, {"name": "ORGANISATION OR COMPANY"}],
            texts=["Ada Lovelace wrote to Charles Babbage from London about the Analytical Engine."],
            members={first: ProjectRole.ANNOTATOR},
        )


def _in(project: str):
    return lambda w: {"project_id": getattr(w, project).pk}


def _with(**objects):
    """URL arguments of the main project and the named objects: _with(import_job_id="import_job")."""
    return lambda w: {"project_id": w.project.pk, **{key: getattr(w, name).pk for key, name in objects.items()}}


TOUR = [
    Stop("login", "login", "anonymous"),
    Stop("project-list", "annotation:project-list", "manager"),
    Stop("project-detail", "annotation:project-detail", "manager", _in("project")),
    *(
        Stop(f"project-{section}", "annotation:project-detail", "manager", _in("project"), query=f"?section={section}")
        for section in ("labelling", "review", "data", "quality", "models", "settings")
    ),
    Stop("project-spans-settings", "annotation:project-detail", "manager", _in("spans"), query="?section=settings"),
    Stop("project-annotator", "annotation:project-detail", "annotator", _in("project")),
    Stop("members", "members:list", "manager", _in("project")),
    Stop("imports", "annotation:imports", "manager", _in("project")),
    Stop("import-job", "annotation:import-job", "manager", _with(import_job_id="import_job")),
    Stop("pii-findings", "annotation:pii-findings", "manager", _in("project")),
    Stop("items", "annotation:items", "manager", _in("project")),
    Stop("items-filtered", "annotation:items", "reviewer", _in("project"), query="?status=done&q=parcel"),
    Stop("item-detail", "annotation:item-detail", "manager", _with(item_id="first_item")),
    Stop("items-bulk", "annotation:items-bulk", "manager", _in("project"), query="?status=open"),
    Stop("item-bulk-job", "annotation:item-bulk-job", "manager", _with(bulk_job_id="bulk_job")),
    Stop("duplicates", "annotation:duplicates", "manager", _in("project")),
    Stop("export-job", "annotation:export-job", "manager", _with(export_id="export")),
    Stop("gold", "annotation:gold", "manager", _in("project")),
    Stop("quality", "annotation:quality", "manager", _in("project")),
    Stop("retention", "annotation:project-retention", "manager", _in("project")),
    Stop("active-learning", "active:page", "manager", _in("project")),
    Stop("review", "annotation:review", "reviewer", _in("project"), ready="#review-form"),
    Stop("label-issues", "active:label-issues", "reviewer", _in("project")),
    Stop("label-single", "annotation:label", "annotator", _in("project"), ready="#item-text"),
    Stop("label-multi", "annotation:label", "annotator", _in("multi"), ready="#item-text"),
    Stop("label-spans", "annotation:label", "annotator", _in("spans"), ready="#item-text"),
    Stop("tokens", "account-tokens", "annotator"),
    Stop("datasets", "datasets:list", "ml_engineer", _in("project")),
    Stop("dataset-detail", "datasets:detail", "ml_engineer", _with(version_id="dataset")),
    Stop("models", "training:models", "ml_engineer", _in("project")),
    Stop("model-version", "training:version", "ml_engineer", _with(model_version_id="first_model")),
    Stop("compare", "training:version-compare", "ml_engineer", _with(model_version_id="first_model"), query="?with=2"),
    Stop("similar-items", "active:similar", "ml_engineer", _with(item_id="first_item")),
    Stop("audit-events", "governance:audit-events", "auditor"),
    Stop("audit-sinks", "governance:audit-sinks", "auditor"),
    Stop("audit-archive", "governance:audit-archive", "auditor"),
    Stop("audit-checkpoints", "governance:audit-checkpoints", "auditor"),
    Stop("keys", "governance:keys", "admin"),
    Stop("key-versions", "governance:key-versions", "admin", _in("project")),
    Stop("roles", "governance:roles", "admin"),
    Stop("project-jobs", "governance:project-jobs", "ml_engineer", _in("project")),
    Stop("jobs", "governance:jobs", "admin"),
    Stop("erasure", "annotation:erasure-requests", "admin"),
    Stop("people", "governance:users", "admin"),
    Stop("person", "governance:user-detail", "admin", lambda w: {"user_id": w.users["annotator2"].pk}),
    Stop("password-change", "governance:password-change", "annotator"),
    # Without a link the page says it is void; the tests of the People pages fill its form.
    Stop("password-set", "governance:password-set", "anonymous"),
    Stop("project-delete", "annotation:project-delete", "manager", _in("project")),
]


# Runs in the page; returns one sentence per broken rule, naming the element.
LAYOUT_PROBLEMS = r"""
() => {
  const problems = [];
  const width = window.innerWidth;
  const describe = (el) => {
    let name = el.tagName.toLowerCase();
    if (el.id) name += '#' + el.id;
    else if (el.classList.length) name += '.' + [...el.classList].join('.');
    const text = (el.textContent || el.value || '').trim().replace(/\s+/g, ' ');
    return text ? `${name} ("${text.slice(0, 40)}")` : name;
  };
  const shown = (el) => el.checkVisibility({opacityProperty: true, visibilityProperty: true})
    && el.getBoundingClientRect().width > 0;
  // The nearest ancestor that scrolls or clips sideways: content may be wider than the page inside it.
  const clipper = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== 'visible') return up;
    }
    return null;
  };
  const elements = [...document.body.querySelectorAll('*')].filter(
    (el) => !(el instanceof SVGElement && !(el instanceof SVGSVGElement)) && shown(el));

  // 1. The page does not scroll sideways; name what sticks out (where it starts sticking out).
  const scrollWidth = document.scrollingElement.scrollWidth;
  if (scrollWidth > width + 1) {
    const culprits = elements.filter((el) => el.getBoundingClientRect().right > width + 1 && !clipper(el)
      && el.parentElement.getBoundingClientRect().right <= width + 1);
    problems.push(`the page is ${scrollWidth} px wide in a ${width} px window, so it scrolls sideways; `
      + `too wide: ${culprits.slice(0, 4).map(describe).join(', ') || 'unknown'}`);
  }

  // 2. Nothing sticks out of its card (outside a box that scrolls on its own).
  for (const card of document.querySelectorAll('.card')) {
    if (!shown(card)) continue;
    const box = card.getBoundingClientRect();
    for (const el of card.querySelectorAll('*')) {
      if (el instanceof SVGElement && !(el instanceof SVGSVGElement)) continue;
      if (!shown(el) || (clipper(el) && card.contains(clipper(el)) && clipper(el) !== card)) continue;
      const r = el.getBoundingClientRect();
      const parent = el.parentElement.getBoundingClientRect();
      if ((r.right > box.right + 1 && parent.right <= box.right + 1) || (r.left < box.left - 1 && parent.left >= box.left - 1)) {
        problems.push(`${describe(el)} sticks out of its card ${describe(card).slice(0, 60)}`);
      }
    }
  }

  // 3. Text cut off with an ellipsis, or clipped, has a title that gives it whole.
  for (const el of elements) {
    if (el.matches('input, select, textarea, button, svg, progress') || el.closest('[title]')) continue;
    // Text for screen readers only (a 1 px clipped box) is not shown, so it cannot look cut off.
    if (el.matches('.visually-hidden')) continue;
    const style = getComputedStyle(el);
    if (style.overflowX === 'visible' || el.scrollWidth <= el.clientWidth + 1) continue;
    const ownText = [...el.childNodes].some((node) => node.nodeType === Node.TEXT_NODE && node.textContent.trim());
    if (style.textOverflow === 'ellipsis' || (ownText && style.overflowX !== 'auto' && style.overflowX !== 'scroll')) {
      problems.push(`${describe(el)} is cut off and has no title attribute with the whole text`);
    }
  }

  // 4. Chart text stays inside its chart (an <svg> clips what falls outside it).
  for (const text of document.querySelectorAll('svg text')) {
    const svg = text.ownerSVGElement;
    if (!shown(svg) || !text.textContent.trim()) continue;
    const r = text.getBoundingClientRect(), box = svg.getBoundingClientRect();
    if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1) {
      problems.push(`chart text "${text.textContent.trim().slice(0, 60)}" is cut by the edge of ${describe(svg).split(' ')[0]}`);
    }
  }

  // 5. A check box or radio button sits on the same line as its label's text, right beside it.
  for (const input of document.querySelectorAll('input[type=checkbox], input[type=radio]')) {
    if (!shown(input) || input.getBoundingClientRect().width < 4) continue;
    const label = input.labels[0] || input.closest('label');
    if (!label) {
      if (!input.getAttribute('aria-label')) problems.push(`${describe(input)} has no label`);
      continue;
    }
    const box = input.getBoundingClientRect();
    const walker = document.createTreeWalker(label, NodeFilter.SHOW_TEXT);
    const rects = [];
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.textContent.trim()) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      rects.push(...range.getClientRects());
    }
    if (!rects.length) continue;
    const name = `the ${input.type} of "${label.textContent.trim().replace(/\s+/g, ' ').slice(0, 40)}"`;
    const sameLine = rects.filter((r) => r.top < box.bottom && r.bottom > box.top);
    if (!sameLine.length) {
      problems.push(`${name} is not on the same line as its label`);
      continue;
    }
    const gap = Math.min(...sameLine.map((r) => Math.max(r.left - box.right, box.left - r.right)));
    if (gap > 24) problems.push(`${name} is ${Math.round(gap)} px away from its label`);
    const row = input.parentElement.getBoundingClientRect();
    if (row.width > 4 * box.width && Math.abs((box.left + box.right) / 2 - (row.left + row.right) / 2) < 2) {
      problems.push(`${name} is centred in its row`);
    }
  }

  // 6. A text box is not floated, has its label above it and takes its container's width.
  for (const area of document.querySelectorAll('textarea')) {
    if (!shown(area)) continue;
    const style = getComputedStyle(area);
    if (style.float !== 'none') problems.push(`${describe(area)} floats (${style.float})`);
    const box = area.getBoundingClientRect();
    const label = area.labels[0];
    if (label && shown(label) && label.getBoundingClientRect().bottom > box.top + 1) {
      problems.push(`${describe(area)} is beside its label instead of under it`);
    }
    const parent = area.parentElement, parentStyle = getComputedStyle(parent);
    const room = parent.clientWidth - parseFloat(parentStyle.paddingLeft) - parseFloat(parentStyle.paddingRight);
    if (box.width < 0.9 * room) {
      problems.push(`${describe(area)} is ${Math.round(box.width)} px wide in a ${Math.round(room)} px column`);
    }
  }

  // 7. The top bar holds its links without overlapping them, and the page starts below it.
  const bar = document.querySelector('header.topbar');
  if (bar) {
    const barBox = bar.getBoundingClientRect();
    const main = document.querySelector('main');
    if (main && main.getBoundingClientRect().top < barBox.bottom - 1) problems.push('the page starts under the top bar');
    const parts = [...bar.querySelectorAll('a, button, select, input:not([type=hidden]), span')].filter(shown);
    for (const part of parts) {
      const r = part.getBoundingClientRect();
      if (r.right > barBox.right + 1 || r.left < barBox.left - 1) problems.push(`${describe(part)} sticks out of the top bar`);
    }
    // Line by line: a link that wraps onto two lines has one box per line.
    const overlap = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
    for (let i = 0; i < parts.length; i++) {
      for (let j = i + 1; j < parts.length; j++) {
        if (parts[i].contains(parts[j]) || parts[j].contains(parts[i])) continue;
        const first = [...parts[i].getClientRects()], second = [...parts[j].getClientRects()];
        if (first.some((a) => second.some((b) => overlap(a, b)))) {
          problems.push(`${describe(parts[i])} and ${describe(parts[j])} overlap in the top bar`);
        }
      }
    }
  }
  return [...new Set(problems)];
}
"""


def _html_page_routes() -> set[str]:
    """Named routes the permission table declares a GET for, outside the API."""
    return {name for name, rules in TABLE.items() if "GET" in rules and not name.startswith("api:")}


def test_every_html_page_is_on_the_layout_tour():
    missing = sorted(_html_page_routes() - {stop.url_name for stop in TOUR} - set(NOT_PAGES))
    assert not missing, (
        f"Pages the layout tour does not visit: {missing}. Add a Stop for each to TOUR in {__file__} "
        "(as a role that may see the page), or to NOT_PAGES with the reason it is not a page of its own."
    )
    stale = sorted(set(NOT_PAGES) - _html_page_routes())
    assert not stale, f"NOT_PAGES names routes that are gone or have no GET: {stale}; remove them."


def _visit(page, base_url: str, stop: Stop, world: World):
    response = page.goto(base_url + reverse(stop.url_name, kwargs=stop.kwargs(world)) + stop.query)
    assert response.ok, f"{stop.name}: {response.url} answered {response.status}"
    page.locator(stop.ready).first.wait_for(state="attached")
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("screen", list(WIDTHS))
def test_every_page_keeps_its_layout_at_this_width(browser_session, transactional_db, screen):
    world = World()
    viewport = WIDTHS[screen]
    pages = {}
    for actor, user in world.users.items():
        if actor != "annotator2":
            pages[actor] = browser_session.login(user, viewport=viewport)
    pages["anonymous"] = browser_session.anonymous(viewport=viewport)

    found = {}
    for stop in TOUR:
        page = pages[stop.actor]
        _visit(page, browser_session.base_url, stop, world)
        problems = page.evaluate(LAYOUT_PROBLEMS)
        if problems:
            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / f"layout-{screen}-{stop.name}.png"
            page.screenshot(path=str(shot), full_page=True)
            found[f"{stop.name} ({page.url}, screenshot {shot.name})"] = problems

    report = "\n".join(f"{where}:\n  - " + "\n  - ".join(problems) for where, problems in found.items())
    assert not found, f"Layout problems at {viewport['width']} px:\n{report}"
    assert browser_session.errors == [], browser_session.errors
