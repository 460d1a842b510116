"""The start-training form: a ready dataset version, a base model and a few hyperparameters."""

from django import forms
from django.utils.translation import gettext_lazy as _

from training.selectors.training import base_model_list, trainable_versions

BUNDLED = ""


class TrainingForm(forms.Form):
    dataset_version = forms.TypedChoiceField(label=_("Dataset version"), coerce=int)
    base_model = forms.ChoiceField(label=_("Base model"), required=False)
    epochs = forms.IntegerField(label=_("Epochs"), min_value=1, max_value=100, initial=3)
    learning_rate = forms.FloatField(label=_("Learning rate"), min_value=1e-7, max_value=1e-2, initial=5e-5)
    batch_size = forms.IntegerField(label=_("Batch size"), min_value=1, max_value=512, initial=32)
    max_length = forms.IntegerField(label=_("Max length (tokens)"), min_value=8, max_value=512, initial=128)
    time_limit_minutes = forms.IntegerField(
        label=_("Time limit (minutes)"), min_value=1, max_value=7 * 24 * 60, initial=6 * 60
    )

    HYPERPARAMETERS = ("epochs", "learning_rate", "batch_size", "max_length")

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dataset_version"].choices = [
            (
                version.number,
                f"v{version.number}{' · ' + version.name if version.name else ''} "
                f"({version.item_count} items, {version.content_hash[:10]})",
            )
            for version in trainable_versions(project=project)
        ]
        self.fields["base_model"].choices = [(BUNDLED, _("MiniLM-L6 (bundled)"))] + [
            (base.name, f"{base.name} ({base.fingerprint})") for base in base_model_list()
        ]

    @property
    def hyperparameters(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.HYPERPARAMETERS}

    @property
    def time_limit_seconds(self) -> int:
        return self.cleaned_data["time_limit_minutes"] * 60
