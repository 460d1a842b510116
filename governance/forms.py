"""Forms of the governance pages: audit trail filters, members, global roles, accounts and passwords; parsing only."""

import datetime as dt

from django import forms
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.forms import PasswordChangeForm
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from governance.audit import AuditAction
from governance.roles import GlobalRole, ProjectRole
from governance.selectors.audit import AuditFilters

# Largest value a 64-bit signed column holds; bigger numbers are errors, not database overflows.
_MAX_ID = 2**63 - 1
_username = RegexValidator(r"^[\w.@+-]+\Z", gettext_lazy("Letters, digits and @ . + - _ only."))
_action = RegexValidator(
    r"^[a-z0-9_.-]+\Z", gettext_lazy("Lower-case letters, digits and . _ - only, e.g. annotation.")
)


def _moment(raw: str, *, end_of_day: bool) -> dt.datetime:
    """An ISO date or date-time; a bare date means its start, or the next day's start for an end."""
    try:
        if len(raw) == 10:
            day = dt.date.fromisoformat(raw)
            if end_of_day:
                day += dt.timedelta(days=1)
            moment = dt.datetime.combine(day, dt.time.min)
        else:
            moment = dt.datetime.fromisoformat(raw)
        if timezone.is_naive(moment):
            moment = moment.replace(tzinfo=dt.UTC)
        # In UTC here, so that an offset at the edge of the calendar fails now, not in the database.
        return moment.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise forms.ValidationError(
            _("Use an ISO date such as 2025-01-31 or a date-time such as 2025-01-31T14:00.")
        ) from None


class AuditEventFilterForm(forms.Form):
    user = forms.CharField(
        label=gettext_lazy("User"), required=False, max_length=150, validators=[_username]
    )
    project = forms.IntegerField(
        label=gettext_lazy("Project id"), required=False, min_value=1, max_value=_MAX_ID
    )
    action = forms.CharField(
        label=gettext_lazy("Action starts with"),
        required=False,
        max_length=64,
        validators=[_action],
        widget=forms.TextInput(attrs={"list": "audit-actions"}),
    )
    # Suggested in the action field (a datalist); any prefix of them still filters.
    action_choices = AuditAction.choices
    date_from = forms.CharField(label=gettext_lazy("From"), required=False, max_length=32)
    date_to = forms.CharField(label=gettext_lazy("To"), required=False, max_length=32)
    before = forms.IntegerField(
        required=False, min_value=1, max_value=_MAX_ID, widget=forms.HiddenInput
    )

    def clean_date_from(self):
        raw = self.cleaned_data["date_from"].strip()
        return _moment(raw, end_of_day=False) if raw else None

    def clean_date_to(self):
        raw = self.cleaned_data["date_to"].strip()
        return _moment(raw, end_of_day=True) if raw else None

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("date_from"), cleaned.get("date_to")
        if since and until and since >= until:
            self.add_error("date_to", _("The end must come after the start."))
        return cleaned

    def filters(self) -> AuditFilters:
        data = self.cleaned_data
        return AuditFilters(
            user=data["user"],
            project_id=data["project"],
            action=data["action"],
            since=data["date_from"],
            until=data["date_to"],
        )


class AuditArchiveSearchForm(AuditEventFilterForm):
    """The audit page's filters and a range of event numbers, for a search of the archive files."""

    seq_from = forms.IntegerField(label=gettext_lazy("From event #"), required=False, min_value=1, max_value=_MAX_ID)
    seq_to = forms.IntegerField(label=gettext_lazy("To event #"), required=False, min_value=1, max_value=_MAX_ID)
    field_order = ["seq_from", "seq_to", "date_from", "date_to", "user", "project", "action"]

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("seq_from"), cleaned.get("seq_to")
        if low and high and low > high:
            self.add_error("seq_to", _("The last event number must not be smaller than the first."))
        return cleaned

    @property
    def searched(self) -> bool:
        """Whether any field was filled in: an empty form lists the archives without reading a file."""
        return any(self.cleaned_data.get(name) not in (None, "") for name in self.field_order)


class _ActiveUsernameField(forms.CharField):
    def clean(self, value):
        username = super().clean(value)
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(
                _("There is no active user called '%(name)s'.") % {"name": username}
            )
        return user


class MemberSetForm(forms.Form):
    username = _ActiveUsernameField(label=gettext_lazy("Username"), max_length=150)
    # Least privilege by default: a manager has to choose a wider role on purpose.
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=ProjectRole.choices, initial=ProjectRole.ANNOTATOR)


class GlobalRoleForm(forms.Form):
    username = _ActiveUsernameField(label=gettext_lazy("Username"), max_length=150)
    role = forms.ChoiceField(
        label=gettext_lazy("Global role"),
        choices=[("", gettext_lazy("None"))] + list(GlobalRole.choices),
        required=False,
    )

    def clean_role(self):
        return self.cleaned_data["role"] or None


class UserCreateForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("Username"), max_length=150, validators=[_username])
    email = forms.EmailField(label=gettext_lazy("E-mail"), required=False)
    first_name = forms.CharField(label=gettext_lazy("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=gettext_lazy("Last name"), max_length=150, required=False)


class OwnPasswordChangeForm(PasswordChangeForm):
    """Django's password change, with the old password checked the way a login is: through the
    authentication backends, so django-axes counts wrong guesses and locks the account out alike."""

    def __init__(self, user, request, *args, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        checked = authenticate(self.request, username=self.user.get_username(), password=old_password)
        if checked is None or checked.pk != self.user.pk:
            raise forms.ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old_password


class MasterKeyChangeForm(forms.Form):
    """A state change of one master key on the Keys page."""

    fingerprint = forms.RegexField(regex=r"^[0-9a-f]{16}$", max_length=64)
    action = forms.ChoiceField(choices=[(name, name) for name in ("promote", "disable", "enable", "destroy")])


class ProjectKeyChangeForm(forms.Form):
    """Disable or re-enable one project's data key on the Keys page."""

    project = forms.IntegerField(min_value=1)
    action = forms.ChoiceField(choices=[(name, name) for name in ("disable", "enable")])
