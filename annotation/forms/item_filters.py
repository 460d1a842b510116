"""The item browser's query string (filters, cursor, page size) parsed into ItemFilters, for its page and its API."""

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from annotation.models import PiiFinding, PiiFindingStatus
from annotation.selectors.browser import (
    PAGE_SIZE,
    PAGE_SIZE_MAX,
    Agreement,
    DuplicateRole,
    ItemFilters,
    ItemState,
)
from projects.models import Project

ANY = [("", _("Any"))]


def _once(read):
    """``read``, called at most once (a drawn choice field iterates its choices more than once)."""
    found = []

    def choices():
        if not found:
            found.append(read())
        return found[0]

    return choices


def _entities(project: Project):
    return (
        PiiFinding.objects.filter(project=project)
        .order_by("entity")
        .values_list("entity", flat=True)
        .distinct()
    )


class ItemFilterForm(forms.Form):
    """Every filter is optional; ``status`` may repeat (any of them), the rest combine with AND."""

    status = forms.MultipleChoiceField(label=_("Status"), choices=ItemState.choices, required=False)
    annotator = forms.CharField(label=_("Annotator"), max_length=150, required=False)
    agreement = forms.ChoiceField(
        label=_("Agreement"), choices=ANY + Agreement.choices, required=False
    )
    model_version = forms.CharField(label=_("Model version"), max_length=200, required=False)
    confidence_min = forms.FloatField(
        label=_("Confidence from"), min_value=0, max_value=1, required=False
    )
    confidence_max = forms.FloatField(
        label=_("Confidence to"), min_value=0, max_value=1, required=False
    )
    pii = forms.ChoiceField(label=_("Personal data"), required=False)
    pii_status = forms.ChoiceField(
        label=_("Finding status"), choices=ANY + PiiFindingStatus.choices, required=False
    )
    duplicates = forms.ChoiceField(
        label=_("Duplicates"), choices=ANY + DuplicateRole.choices, required=False
    )
    group = forms.IntegerField(label=_("Duplicate group (keeper id)"), min_value=1, required=False)
    source = forms.TypedChoiceField(
        label=_("Data source"), coerce=int, empty_value=None, required=False
    )
    imported_from = forms.DateField(
        label=_("Imported from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    imported_to = forms.DateField(
        label=_("Imported to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    dataset_version = forms.IntegerField(label=_("Dataset version"), min_value=1, required=False)
    q = forms.CharField(label=_("Words"), max_length=500, required=False)
    text = forms.CharField(label=_("Exact text"), max_length=10_000, required=False)
    after = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)
    page_size = forms.IntegerField(
        label=_("Rows per page"), min_value=1, max_value=PAGE_SIZE_MAX, required=False
    )

    def __init__(self, data=None, *, project: Project):
        super().__init__(data)
        self.project = project
        # The entities found in this project, so the choice lists what there is to find. Callables:
        # read only when the form is drawn or the parameter is given (the API's page skips both).
        self.fields["pii"].choices = _once(
            lambda: ANY
            + [("any", _("Any finding")), ("none", _("No finding"))]
            + [(name, name) for name in _entities(project)]
        )
        self.fields["source"].choices = _once(
            lambda: ANY + list(project.sources.order_by("name").values_list("pk", "name"))
        )

    def clean(self):
        data = super().clean()
        low, high = data.get("confidence_min"), data.get("confidence_max")
        if low is not None and high is not None and low > high:
            self.add_error(
                "confidence_max",
                gettext("Must not be below 'Confidence from' (%(low)s).") % {"low": low},
            )
        start, end = data.get("imported_from"), data.get("imported_to")
        if start and end and start > end:
            self.add_error(
                "imported_to",
                gettext("Must not be before 'Imported from' (%(start)s).") % {"start": start},
            )
        return data

    def filters(self) -> ItemFilters:
        data = self.cleaned_data
        return ItemFilters(
            statuses=tuple(data.get("status") or ()),
            annotator=data.get("annotator", "").strip(),
            agreement=data.get("agreement", ""),
            model_version=data.get("model_version", "").strip(),
            confidence_min=data.get("confidence_min"),
            confidence_max=data.get("confidence_max"),
            pii=data.get("pii", ""),
            pii_status=data.get("pii_status", ""),
            duplicates=data.get("duplicates", ""),
            group=data.get("group"),
            source=data.get("source"),
            imported_from=data.get("imported_from"),
            imported_to=data.get("imported_to"),
            dataset_version=data.get("dataset_version"),
            q=data.get("q", "").strip(),
            text=data.get("text", ""),
        )

    def cursor(self) -> int | None:
        """The id the page starts below (keyset paging), None for the first page."""
        return self.cleaned_data.get("after")

    def rows_per_page(self) -> int:
        return self.cleaned_data.get("page_size") or PAGE_SIZE
