"""The active-learning settings form: strategy, control share, refresh interval and each label's seed keywords."""

from django import forms
from django.utils.translation import gettext_lazy as _

from training.models.active import Strategy

KEYWORD_PREFIX = "keywords_"


class ActiveLearningForm(forms.Form):
    strategy = forms.ChoiceField(label=_("Strategy"), choices=Strategy.choices)
    control_percent = forms.FloatField(
        label=_("Random control share (%)"),
        min_value=0,
        max_value=50,
        help_text=_("Share of the queue drawn at random, so the learning curve is measured on unbiased labels."),
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
        return {label.name: self.cleaned_data[f"{KEYWORD_PREFIX}{label.pk}"] for label in self.labels}
