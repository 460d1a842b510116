"""HTML forms for the annotation pages: they parse input only; the services validate and write."""

import json

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from annotation.models import DataSource, ImportOnError, PiiFindingStatus
from annotation.pipeline.readers import FORMATS
from annotation.services.retention import MAX_DAYS
from projects.models import PiiPolicy, Project, ReviewPolicy, TaskType

# Colours for labels typed without one, in order; readable on white and distinct from each other.
_PALETTE = (
    "#4c78a8",
    "#f58518",
    "#54a24b",
    "#e45756",
    "#72b7b2",
    "#b279a2",
    "#eeca3b",
    "#9d755d",
    "#bab0ac",
)


def labels_parse(text: str) -> list[dict]:
    """Read one label per line as ``name | #colour | description``; only the name is required."""
    specs = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        if len(parts) > 3:
            raise ValidationError(
                _("Line %(line)d has more than three parts; write name | #colour | description.")
                % {"line": line_number}
            )
        name, colour, description = (parts + ["", ""])[:3]
        if not name:
            raise ValidationError(_("Line %(line)d has no label name.") % {"line": line_number})
        specs.append(
            {
                "name": name,
                "color": colour or _PALETTE[len(specs) % len(_PALETTE)],
                "description": description,
            }
        )
    return specs


class ProjectCreateForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    task_type = forms.ChoiceField(label=gettext_lazy("Task type"), choices=TaskType.choices)
    description = forms.CharField(
        label=gettext_lazy("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    guidelines = forms.CharField(
        label=gettext_lazy("Guidelines"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    labels = forms.CharField(
        label=gettext_lazy("Labels"),
        help_text=gettext_lazy(
            "One per line: name | #colour | description. Hotkeys 1-9 follow the order."
        ),
        widget=forms.Textarea(
            attrs={"rows": 4, "placeholder": "positive | #2ca02c | The writer is pleased"}
        ),
    )

    def clean_labels(self) -> list[dict]:
        return labels_parse(self.cleaned_data["labels"])


class LabelForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    color = forms.CharField(
        label=gettext_lazy("Colour"),
        max_length=7,
        initial="#4c78a8",
        widget=forms.TextInput(attrs={"type": "color"}),
    )
    hotkey = forms.CharField(label=gettext_lazy("Hotkey"), max_length=1, required=False)
    description = forms.CharField(label=gettext_lazy("Description"), required=False)


class ItemImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV or JSONL file"))
    format = forms.ChoiceField(
        label=gettext_lazy("Format"),
        required=False,
        choices=[("", gettext_lazy("From the file name"))]
        + [(fmt, fmt.upper()) for fmt in FORMATS],
    )
    quoting = forms.ChoiceField(
        label=gettext_lazy("Quotes in CSV and TSV files"),
        required=False,
        initial="auto",
        choices=[
            ("auto", gettext_lazy("Detect")),
            ("standard", gettext_lazy("Standard: a field may be wrapped in double quotes")),
            ("none", gettext_lazy("None: quote characters are part of the text")),
        ],
        help_text=gettext_lazy(
            "Detect reads a CSV file with standard quoting, and a TSV file without quoting unless its "
            "first lines wrap fields in quotes the way spreadsheets write them."
        ),
    )

    def clean_quoting(self) -> str:
        return self.cleaned_data["quoting"] or "auto"


class ImportJobForm(ItemImportForm):
    """A background import: the file, what a bad row does, where the data came from."""

    on_error = forms.ChoiceField(label=gettext_lazy("Bad rows"), choices=ImportOnError.choices)
    source = forms.ModelChoiceField(label=gettext_lazy("Data source"), queryset=DataSource.objects.none(),
                                    required=False)
    create_missing_labels = forms.BooleanField(label=gettext_lazy("Create missing labels"), required=False)

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].label = gettext_lazy("File")
        self.fields["source"].queryset = DataSource.objects.filter(project=project)


class DataSourceForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    origin = forms.CharField(label=gettext_lazy("Origin"), required=False, max_length=2000)
    licence = forms.CharField(label=gettext_lazy("Licence"), required=False, max_length=200)
    consent_basis = forms.CharField(label=gettext_lazy("Consent or legal basis"), required=False, max_length=200)
    collection_date = forms.DateField(label=gettext_lazy("Collection date"), required=False,
                                      widget=forms.DateInput(attrs={"type": "date"}))
    retention_days = forms.IntegerField(label=gettext_lazy("Retention (days)"), required=False, min_value=1)


class ImportPolicyForm(forms.Form):
    """The project's cleaning, personal-data and near-duplicate settings for imports."""

    fix_unicode = forms.BooleanField(label=gettext_lazy("Repair broken Unicode (ftfy)"), required=False)
    normalization = forms.ChoiceField(label=gettext_lazy("Unicode normalisation"),
                                      choices=[("NFC", "NFC"), ("NFKC", "NFKC"), ("none", gettext_lazy("None"))])
    whitespace = forms.ChoiceField(label=gettext_lazy("Whitespace"), choices=[
        ("keep", gettext_lazy("Keep")), ("strip", gettext_lazy("Strip the ends")),
        ("collapse", gettext_lazy("Collapse runs"))])
    strip_html = forms.BooleanField(label=gettext_lazy("Strip HTML"), required=False)
    min_length = forms.IntegerField(label=gettext_lazy("Minimum length"), min_value=0, initial=1)
    max_length = forms.IntegerField(label=gettext_lazy("Maximum length"), min_value=1, required=False)
    over_max = forms.ChoiceField(label=gettext_lazy("Longer texts"), choices=[
        ("reject", gettext_lazy("Reject")), ("truncate", gettext_lazy("Truncate"))])
    languages = forms.CharField(label=gettext_lazy("Allowed languages"), required=False, max_length=200,
                                help_text=gettext_lazy("ISO 639-1 codes separated by commas; empty: no detection."))
    pii_policy = forms.ChoiceField(label=gettext_lazy("Personal data"), choices=PiiPolicy.choices)
    neardup_threshold = forms.FloatField(
        label=gettext_lazy("Near-duplicate threshold"), required=False, min_value=0.05, max_value=1.0,
        help_text=gettext_lazy("Estimated similarity from 0.05 to 1 (0.7 suits short texts); empty: off."))

    def cleaning_policy(self) -> dict:
        data = self.cleaned_data
        policy = {name: data[name] for name in (
            "fix_unicode", "normalization", "whitespace", "strip_html", "min_length", "max_length", "over_max")}
        policy["languages"] = [code.strip() for code in data["languages"].split(",") if code.strip()]
        return policy


class PiiFindingReviewForm(forms.Form):
    status = forms.ChoiceField(choices=[(PiiFindingStatus.CONFIRMED, gettext_lazy("Confirm")),
                                        (PiiFindingStatus.DISMISSED, gettext_lazy("Dismiss"))])


class AnnotationSubmitForm(forms.Form):
    """The labelling form: chosen labels (or spans as JSON), lead time, the suggestion shown, a comment."""

    label = forms.MultipleChoiceField(required=False)
    spans = forms.CharField(required=False)
    lead_time_ms = forms.IntegerField(required=False, min_value=0)
    prediction_id = forms.IntegerField(required=False, min_value=1)
    suggestion_rejected = forms.BooleanField(required=False)
    comment = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args, label_names: list[str], task_type: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.task_type = task_type
        self.fields["label"].choices = [(name, name) for name in label_names]

    def clean_spans(self) -> list:
        raw = self.cleaned_data["spans"]
        if not raw:
            return []
        try:
            spans = json.loads(raw)
        except json.JSONDecodeError:
            raise ValidationError(_("The spans could not be read; reload the page.")) from None
        if not isinstance(spans, list):
            raise ValidationError(_("The spans could not be read; reload the page."))
        return spans

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if self.task_type == TaskType.SPANS:
            cleaned["value"] = {"spans": cleaned["spans"]}
        else:
            if not cleaned["label"]:
                raise ValidationError(
                    _("Choose a label first (number keys), or accept the suggestion (a).")
                )
            cleaned["value"] = {"labels": cleaned["label"]}
        cleaned["lead_time_ms"] = cleaned.get("lead_time_ms") or 0
        return cleaned


class ReviewForm(forms.Form):
    """A reviewer's decision: the final labels (or spans) to keep, or a rejection with a comment."""

    decision = forms.ChoiceField(choices=[("resolve", "resolve"), ("reject", "reject")])
    label = forms.MultipleChoiceField(required=False)
    spans = forms.CharField(required=False)
    comment = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args, label_names: list[str], task_type: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.task_type = task_type
        self.fields["label"].choices = [(name, name) for name in label_names]

    clean_spans = AnnotationSubmitForm.clean_spans

    def clean(self):
        cleaned = super().clean()
        if self.errors or cleaned.get("decision") != "resolve":
            return cleaned
        if self.task_type == TaskType.SPANS:
            cleaned["value"] = {"spans": cleaned["spans"]}
        elif not cleaned["label"]:
            raise ValidationError(_("Choose the final label first, or reject the annotations with a comment."))
        else:
            cleaned["value"] = {"labels": cleaned["label"]}
        return cleaned


class ProjectSettingsForm(forms.Form):
    """How the work is shared out and checked: overlap, review policy, gold rate, overlapping spans."""

    overlap = forms.IntegerField(
        label=gettext_lazy("Annotators per item"),
        min_value=1,
        max_value=50,
        help_text=gettext_lazy("Each item is labelled by this many different annotators."),
    )
    review_policy = forms.ChoiceField(label=gettext_lazy("Review"), choices=ReviewPolicy.choices)
    gold_rate = forms.FloatField(
        label=gettext_lazy("Gold rate"),
        min_value=0.0,
        max_value=1.0,
        help_text=gettext_lazy("Share of queue requests answered with a gold item (0 to 1)."),
    )
    allow_overlapping_spans = forms.BooleanField(label=gettext_lazy("Allow overlapping spans"), required=False)

    # Settings that only mean something for some task types; the others never see them.
    TASK_TYPE_FIELDS = {"allow_overlapping_spans": {TaskType.SPANS}}
    # The headings the fields are shown under, with what the group decides; a group whose fields
    # the task type removed is left out.
    GROUPS = (
        (
            gettext_lazy("Sharing out the work"),
            gettext_lazy("How many people answer each item before it counts as done."),
            ("overlap",),
        ),
        (
            gettext_lazy("Checking the work"),
            gettext_lazy("Which items a reviewer decides, and how often the queue tests annotators on known answers."),
            ("review_policy", "gold_rate"),
        ),
        (
            gettext_lazy("Spans"),
            gettext_lazy("How annotators may mark parts of a text."),
            ("allow_overlapping_spans",),
        ),
    )

    def __init__(self, *args, task_type: str, **kwargs):
        super().__init__(*args, **kwargs)
        for name, task_types in self.TASK_TYPE_FIELDS.items():
            if task_type not in task_types:
                del self.fields[name]

    def groups(self) -> list[tuple[str, str, list]]:
        """(heading, help, bound fields) of each group this task type has."""
        groups = [
            (heading, help_text, [self[name] for name in names if name in self.fields])
            for heading, help_text, names in self.GROUPS
        ]
        return [group for group in groups if group[2]]


class ItemSkipForm(forms.Form):
    reason = forms.CharField(required=False, max_length=500)


class RetentionForm(forms.Form):
    days = forms.IntegerField(
        label=gettext_lazy("Keep items for (days)"),
        required=False,
        min_value=1,
        max_value=MAX_DAYS,
        help_text=gettext_lazy("Leave empty to keep items until they are deleted by hand."),
    )


class ErasureRequestForm(forms.Form):
    identifier = forms.CharField(
        label=gettext_lazy("Subject identifier"),
        max_length=500,
        help_text=gettext_lazy("An email, customer id or name; it is not stored in clear."),
    )
    project = forms.ModelChoiceField(
        label=gettext_lazy("Project"),
        queryset=Project.objects.order_by("name"),
        required=False,
        empty_label=gettext_lazy("Every project"),
    )
    reason = forms.CharField(label=gettext_lazy("Reference"), max_length=500, required=False)


class ProjectDeleteForm(forms.Form):
    # Compared with the name by project_delete, which names the project in its error.
    confirm_name = forms.CharField(
        label=gettext_lazy("Type the project's name to confirm"), max_length=200, required=False, strip=False
    )
