"""Training's forms: active-learning settings, freezing a dataset version, starting a training job."""

from django import forms
from django.utils.translation import gettext_lazy as _

from training.models import ConflictPolicy
from training.models.active import Strategy
from training.selectors.training import base_model_list, trainable_versions

# Active learning: one seed-keywords field per label, named after the label's id.
KEYWORD_PREFIX = "keywords_"
# Training: the base model choice that means the bundled MiniLM.
BUNDLED = ""


class ActiveLearningForm(forms.Form):
    strategy = forms.ChoiceField(label=_("Strategy"), choices=Strategy.choices)
    control_percent = forms.FloatField(
        label=_("Random control share (%)"),
        min_value=0,
        max_value=50,
        help_text=_(
            "Share of the queue drawn at random, so the learning curve is measured on unbiased labels."
        ),
    )
    refresh_every = forms.IntegerField(
        label=_("Refresh the model every N labels"), min_value=1, max_value=1000
    )

    def __init__(self, *args, labels, **kwargs):
        super().__init__(*args, **kwargs)
        self.labels = list(labels)
        for label in self.labels:
            self.fields[f"{KEYWORD_PREFIX}{label.pk}"] = forms.CharField(
                label=label.name,
                required=False,
                max_length=2000,
                initial=label.keywords,
            )

    @classmethod
    def for_state(cls, state, *, labels) -> "ActiveLearningForm":
        initial = {
            "strategy": state.strategy,
            "control_percent": round(state.control_fraction * 100, 1),
            "refresh_every": state.refresh_every,
        }
        return cls(initial=initial, labels=labels)

    def setting_fields(self):
        return [self[name] for name in ("strategy", "control_percent", "refresh_every")]

    def keyword_fields(self):
        return [self[f"{KEYWORD_PREFIX}{label.pk}"] for label in self.labels]

    @property
    def settings(self) -> dict:
        data = self.cleaned_data
        return {
            "strategy": data["strategy"],
            "control_fraction": round(data["control_percent"] / 100, 4),
            "refresh_every": data["refresh_every"],
        }

    @property
    def keywords(self) -> dict[str, str]:
        return {
            label.name: self.cleaned_data[f"{KEYWORD_PREFIX}{label.pk}"] for label in self.labels
        }


class DatasetFreezeForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    conflict_policy = forms.ChoiceField(
        label=_("When annotators disagree"),
        choices=ConflictPolicy.choices,
        initial=ConflictPolicy.MAJORITY,
        widget=forms.RadioSelect,
    )
    reviewed_only = forms.BooleanField(label=_("Only items a reviewer decided"), required=False)
    adjudicated_only = forms.BooleanField(
        label=_("Only disagreements a reviewer settled"), required=False
    )
    min_agreement = forms.FloatField(
        label=_("Minimum agreement"),
        required=False,
        min_value=0.0,
        max_value=1.0,
        help_text=_("Share of annotators who gave the kept answer, from 0 to 1."),
        widget=forms.NumberInput(attrs={"step": "0.05"}),
    )
    date_from = forms.DateField(
        label=_("Last answered from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = forms.DateField(
        label=_("Last answered until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    labels = forms.MultipleChoiceField(
        label=_("Only these labels"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked keeps every label."),
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["labels"].choices = [
            (name, name) for name in project.labels.values_list("name", flat=True)
        ]

    def filters(self) -> dict:
        data = self.cleaned_data
        return {
            key: data[key]
            for key in (
                "reviewed_only",
                "adjudicated_only",
                "min_agreement",
                "date_from",
                "date_to",
                "labels",
            )
        }


class TrainingForm(forms.Form):
    """Dataset version, base model and what to do after; the training settings are advanced and optional.

    An empty setting keeps the default, which the trainer sizes to the data (a minimum number of
    optimiser steps, balanced class weights); only the filled ones are sent.
    """

    dataset_version = forms.TypedChoiceField(label=_("Dataset version"), coerce=int)
    base_model = forms.ChoiceField(label=_("Base model"), required=False)
    then_suggest = forms.BooleanField(
        label=_("Then suggest with the better of this model and the embedding head"),
        required=False,
        initial=True,
        help_text=_(
            "After training, pre-annotate the unlabelled items with whichever scores better on the same held-out items."
        ),
    )
    time_limit_minutes = forms.IntegerField(
        label=_("Time limit (minutes)"), min_value=1, max_value=7 * 24 * 60, initial=6 * 60
    )
    epochs = forms.IntegerField(
        label=_("Epochs"), min_value=1, max_value=100, required=False, help_text=_("At least this many passes; default 3.")
    )
    min_steps = forms.IntegerField(
        label=_("Minimum optimiser steps"),
        min_value=0,
        max_value=200_000,
        required=False,
        help_text=_("Small datasets train for at least this many steps; default 100."),
    )
    max_steps = forms.IntegerField(
        label=_("Maximum optimiser steps"), min_value=1, max_value=1_000_000, required=False
    )
    learning_rate = forms.FloatField(
        label=_("Learning rate"), min_value=1e-7, max_value=1e-2, required=False, help_text=_("Default 5e-5.")
    )
    batch_size = forms.IntegerField(
        label=_("Batch size"), min_value=1, max_value=512, required=False,
        help_text=_("Default: 16 below 1,000 training examples, else 32."),
    )
    max_length = forms.IntegerField(
        label=_("Max length (tokens)"), min_value=8, max_value=512, required=False, help_text=_("Default 128.")
    )
    class_weighting = forms.ChoiceField(
        label=_("Class weighting"),
        required=False,
        choices=[("", _("Default (balanced)")), ("balanced", _("Balanced")), ("none", _("None"))],
    )

    MAIN = ("dataset_version", "base_model", "then_suggest", "time_limit_minutes")
    HYPERPARAMETERS = (
        "epochs",
        "min_steps",
        "max_steps",
        "learning_rate",
        "batch_size",
        "max_length",
        "class_weighting",
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dataset_version"].choices = [
            (
                version.number,
                (
                    f"v{version.number}{' · ' + version.name if version.name else ''} "
                    f"({version.item_count} items, {version.content_hash[:10]})"
                ),
            )
            for version in trainable_versions(project=project)
        ]
        self.fields["base_model"].choices = [(BUNDLED, _("MiniLM-L6 (bundled)"))] + [
            (base.name, f"{base.name} ({base.fingerprint})") for base in base_model_list()
        ]

    def main_fields(self):
        return [self[name] for name in self.MAIN]

    def advanced_fields(self):
        return [self[name] for name in self.HYPERPARAMETERS]

    @property
    def hyperparameters(self) -> dict:
        """The settings the user filled in; the others keep the trainer's defaults."""
        return {
            name: self.cleaned_data[name]
            for name in self.HYPERPARAMETERS
            if self.cleaned_data.get(name) not in (None, "")
        }

    @property
    def time_limit_seconds(self) -> int:
        return self.cleaned_data["time_limit_minutes"] * 60
