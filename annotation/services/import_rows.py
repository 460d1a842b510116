"""The rows an import adds beside its items: PII findings, and answers brought from another tool."""

import hmac

from django.contrib.auth import get_user_model

from annotation.models import Annotation, AnnotationStatus, PiiFinding, Prediction
from annotation.services.bulk_insert import rows_insert
from projects.models import Project

BATCH_SIZE = 1000
# Label Studio predictions keep their model version behind this prefix; CoNLL spans become
# predictions of this version, so an annotator confirms them rather than inheriting them.
LABELSTUDIO_PREFIX = "labelstudio:"
CONLL_MODEL_VERSION = "import:conll"
# Annotations from another tool are credited to one inactive placeholder account per source user
# and project, named by a keyed hash of the source user id/email so no address is stored in clear.
PLACEHOLDER_PREFIX = "imported-"


class ImportedRows:
    """Builds and inserts one project's findings, annotations and predictions, batch by batch."""

    def __init__(self, project: Project, cipher):
        self.project, self.cipher = project, cipher
        self._placeholders: dict[str, int] = {}
        # Rows inserted so far, by model: the tables whose statistics the import refreshes.
        self.added = {PiiFinding: 0, Annotation: 0, Prediction: 0}

    def create(self, kept: list) -> None:
        """The PII findings, annotations and predictions of a batch's new items."""
        findings, annotations, predictions = [], [], []
        for p, item in kept:
            findings += [
                PiiFinding(
                    project=self.project,
                    item=item,
                    entity=f.entity,
                    start=f.start,
                    end=f.end,
                    score=f.score,
                    action=self.project.pii_policy,
                )
                for f in p.findings
            ]
            annotators = set()
            for entry in p.row.annotations:
                annotator_id = self.annotator_id(entry["annotator"])
                if annotator_id in annotators:  # one answer per annotator and item: the first wins
                    continue
                annotators.add(annotator_id)
                annotation = Annotation(
                    project=self.project,
                    item=item,
                    annotator_id=annotator_id,
                    status=AnnotationStatus.SUBMITTED,
                )
                annotation.value = entry["value"]
                annotations.append(annotation)
            versions = set()
            entries = [
                (LABELSTUDIO_PREFIX + (e["model_version"] or "unknown"), e["value"], e["score"])
                for e in p.row.predictions
            ]
            if p.row.spans:
                entries.append((CONLL_MODEL_VERSION, {"spans": p.row.spans}, 1.0))
            for version, value, score in entries:
                if version[:200] in versions:
                    continue
                versions.add(version[:200])
                prediction = Prediction(
                    project=self.project,
                    item=item,
                    model_version=version[:200],
                    score=1.0 if score is None else score,
                )
                prediction.value = value
                predictions.append(prediction)
        inserts = ((PiiFinding, findings), (Annotation, annotations), (Prediction, predictions))
        for model, rows in inserts:
            rows_insert(model, rows, batch_size=BATCH_SIZE)
            self.added[model] += len(rows)

    def annotator_id(self, source_user: str | None) -> int:
        """The placeholder account a source tool's user is credited as (made on first use)."""
        name = source_user or "unknown"
        if name not in self._placeholders:
            digest = hmac.digest(
                self.cipher.index_key, b"import-annotator:" + name.encode(), "sha256"
            ).hex()
            username = f"{PLACEHOLDER_PREFIX}p{self.project.pk}-{digest[:16]}"
            user, created = get_user_model().objects.get_or_create(
                username=username, defaults={"is_active": False}
            )
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            self._placeholders[name] = user.pk
        return self._placeholders[name]
