"""What every form in the portal shares: error messages that name the field and say what to do
(GOV.UK Design System, "Error message"), a submit button with an id of its own, and server-side
validation only (``novalidate``).

Django's own messages ("This field is required.") are rewritten from the field's label when a
form is built; a message a form declares itself is left alone, so weak generic ones can be
replaced field by field where a better sentence is known.
"""

import re

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.core import validators
from django.utils.text import slugify

# Labels that already begin with a word the sentence can follow ("Enter your name").
_DETERMINERS = (
    "your ", "the ", "a ", "an ", "their ", "its ", "this ", "who ", "what ", "when ", "where ", "why ", "how ",
    "which ", "whether ", "if ",
)  # fmt: skip


def _default(field: forms.Field, code: str) -> str | None:
    """Django's stock message for ``code`` on this kind of field, as text."""
    for klass in type(field).__mro__:
        message = getattr(klass, "default_error_messages", {}).get(code)
        if message is not None:
            return str(message)
    return None


def _is_stock(field: forms.Field, code: str) -> bool:
    return code not in field.error_messages or str(field.error_messages[code]) == _default(field, code)


def _verb(field: forms.Field) -> str:
    widget = field.widget
    if isinstance(widget, forms.FileInput):
        return "Choose"
    if isinstance(widget, (forms.Select, forms.RadioSelect, forms.CheckboxSelectMultiple, forms.CheckboxInput)):
        return "Select"
    return "Enter"


def required_message(field: forms.Field, label: str) -> str:
    """ "Enter your name", "Select who will lead the account", "Select an answer to “Are you…”"."""
    verb = _verb(field)
    text = label.strip().rstrip(":")
    if isinstance(field.widget, forms.CheckboxInput):
        return f"Tick the box to confirm “{text.rstrip('.')}”"
    if text.endswith(("?", "…")):
        return f"{verb} an answer to “{text}”"
    if verb == "Choose" and text.lower() in ("file", "a file"):
        return "Choose a file"
    subject = text[:1].lower() + text[1:] if not re.match(r"^[A-Z]{2}", text) else text
    if not subject.lower().startswith(_DETERMINERS):
        subject = f"the {subject}" if verb != "Choose" else f"a file: {subject}"
    return f"{verb} {subject}"


def _named(label: str) -> str:
    text = label.strip().rstrip(":")
    if text.endswith(("?", "…")):
        return f"the answer to “{text}”"
    named = text[:1].lower() + text[1:] if not re.match(r"^[A-Z]{2}", text) else text
    return named if named.lower().startswith(_DETERMINERS) else f"the {named}"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def invalid_messages(field: forms.Field, label: str) -> dict[str, str]:
    """The messages for a value that is there but wrong, naming the field."""
    named = _named(label)
    messages = {
        "invalid_choice": f"Select one of the options given for {named}",
        "max_length": f"{_capital(named)} must be %(limit_value)d characters or fewer (it has %(show_value)d)",
        "min_length": f"{_capital(named)} must be at least %(limit_value)d characters",
        "min_value": f"{_capital(named)} must be %(limit_value)s or more",
        "max_value": f"{_capital(named)} must be %(limit_value)s or less",
        "empty": f"The file chosen for {named} is empty: choose another",
    }
    if isinstance(field, forms.EmailField):
        messages["invalid"] = "Enter an email address in the correct format, like name@example.com"
    elif isinstance(field, forms.URLField):
        messages["invalid"] = "Enter a web address in the correct format, like https://www.example.org"
    elif isinstance(field, forms.DateTimeField):
        messages["invalid"] = f"Enter a real date and time for {named}, for example 14/03/2026 09:30"
    elif isinstance(field, forms.DateField):
        messages["invalid"] = f"Enter a real date for {named}, for example 14/03/2026"
    elif isinstance(field, forms.IntegerField):
        messages["invalid"] = f"Enter {named} as a whole number, like 3"
    elif isinstance(field, (forms.DecimalField, forms.FloatField)):
        messages["invalid"] = f"Enter {named} as a number, like 2.5"
    elif isinstance(field, forms.FileField):
        messages["invalid"] = f"The file chosen for {named} could not be read: choose it again"
    if isinstance(field, forms.ModelMultipleChoiceField):
        messages["invalid_choice"] = f"Select only the options given for {named}"
        messages["invalid_pk_value"] = messages["invalid_choice"]
    return messages


def speak_plainly(form: forms.BaseForm) -> None:
    """Replace each field's stock Django messages with ones that name the field."""
    for name, field in form.fields.items():
        label = str(field.label or name.replace("_", " ").capitalize())
        wanted = {"required": required_message(field, label), **invalid_messages(field, label)}
        for code, message in wanted.items():
            if code == "required" or code in (field.error_messages or {}) or _validator_code(field, code):
                if _is_stock(field, code):
                    field.error_messages[code] = message


def _validator_code(field: forms.Field, code: str) -> bool:
    """Length and range limits come from validators, whose messages the field can replace by code."""
    kinds = {
        "max_length": validators.MaxLengthValidator,
        "min_length": validators.MinLengthValidator,
        "min_value": validators.MinValueValidator,
        "max_value": validators.MaxValueValidator,
    }
    kind = kinds.get(code)
    return kind is not None and any(isinstance(v, kind) for v in field.validators)


BLANK = "---------"  # Django's empty choice


def plain_choices(form: forms.BaseForm) -> None:
    """A question that must be answered offers no "---------" answer (a model field's choices carry
    one), so nothing is chosen for the person until they choose; a drop-down's empty first line
    says what to do instead."""
    for field in form.fields.values():
        if not hasattr(field, "choices") or isinstance(field.widget, forms.SelectMultiple):
            continue
        if field.required and isinstance(field.widget, forms.RadioSelect):
            if isinstance(field, forms.ModelChoiceField):
                field.empty_label = None
            else:
                field.choices = [c for c in field.choices if c[0] not in ("", None)]
        elif field.required and isinstance(field.widget, forms.Select):
            if isinstance(field, forms.ModelChoiceField):
                if field.empty_label == BLANK:
                    field.empty_label = "Choose one"
            else:
                field.choices = [
                    (v, "Choose one" if v in ("", None) and str(text) == BLANK else text) for v, text in field.choices
                ]


class ClearErrorsMixin:
    """Put first among a form's bases: ``class ReportForm(ClearErrorsMixin, forms.Form)``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        plain_choices(self)

    def full_clean(self):
        # Here rather than in __init__, so fields a form adds in its own __init__ are covered too.
        speak_plainly(self)
        super().full_clean()


def form_helper(label: str, *, multipart: bool = False, tag: bool = True) -> FormHelper:
    """A crispy helper whose form is checked by the server only and whose button has an id of its
    own, so two forms on one page never share ``submit-id-submit``."""
    helper = FormHelper()
    helper.form_tag = tag
    helper.attrs = {"novalidate": ""}
    if multipart:
        helper.attrs["enctype"] = "multipart/form-data"
    if tag:
        helper.add_input(Submit("submit", label, css_id=f"submit-{slugify(label)}"))
    return helper


def sent_back_status(*forms) -> int:
    """400 for a page showing a form the view validated and found wrong (the request could not be
    carried out as sent), else 200: monitoring and tests see a refused form for what it is."""
    for form in forms:
        if form is not None and form.is_bound and not form.is_valid():  # forms and formsets alike
            return 400
    return 200
