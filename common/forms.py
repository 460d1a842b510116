"""Form helpers every app's views share: service errors onto a form, a form's errors as lines."""

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


def form_add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Attach a service's ValidationError to the field it names, else to the whole form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for field_name, errors in error.message_dict.items():
        target = field_name if field_name in form.fields else None
        named = target is not None or field_name == NON_FIELD_ERRORS
        messages = errors if named else [f"{field_name}: {message}" for message in errors]
        form.add_error(target, messages)


def form_error_messages(form: forms.Form) -> list[str]:
    """Each error of a bound form as a line, prefixed with its field's name unless it is the form's."""
    return [
        message if field_name == NON_FIELD_ERRORS else f"{field_name}: {message}"
        for field_name, messages in form.errors.items()
        for message in messages
    ]
