"""Forms for tasks and takedowns: they validate and clean; ``incidents.casework`` decides."""

from django import forms
from django.utils import timezone

from core.forms import ClearErrorsMixin
from incidents.forms import DATETIME_FORMAT, StaffAssigneeField, _when
from incidents.models import HAND_ACTIONS, HowReported, Platform, Takedown


class TaskForm(ClearErrorsMixin, forms.Form):
    kind = forms.ChoiceField(label="Kind of action", choices=[(k.value, k.label) for k in HAND_ACTIONS])
    title = forms.CharField(label="What is to be done", max_length=300)
    owner = StaffAssigneeField(label="Who does it", queryset=None)
    due_on = forms.DateField(
        label="Due by",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="A working day. They are reminded the working day before and on the day.",
        error_messages={
            "required": "Enter the day it is due by, for example 14/03/2026",
            "invalid": "Enter a real date for the day it is due by, for example 14/03/2026",
        },
    )

    def __init__(self, *args, owners=None, **kwargs):
        kwargs.setdefault("auto_id", "task_%s")
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners


class FinishTaskForm(ClearErrorsMixin, forms.Form):
    result = forms.ChoiceField(
        label="Result",
        choices=[("done", "Done"), ("not_needed", "Not needed")],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label="What was done, or why it is not needed",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="A reason is required when it is not needed.",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "finish_%s")
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        if data.get("result") == "not_needed" and not data.get("note", "").strip():
            self.add_error("note", "Say why it is not needed.")
        return data


class ReassignForm(ClearErrorsMixin, forms.Form):
    owner = StaffAssigneeField(
        label="Give it to",
        queryset=None,
        error_messages={
            "required": "Select who to give the task to",
            "invalid_choice": "Choose a current member of staff, not anyone named in the report, to own the task.",
        },
    )

    def __init__(self, *args, owners=None, **kwargs):
        kwargs.setdefault("auto_id", "reassign_%s")
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners


class TakedownForm(ClearErrorsMixin, forms.Form):
    platform = forms.ChoiceField(label="Platform", choices=Platform.choices)
    target = forms.CharField(label="Account handle or web address", max_length=500)
    reported_at = _when("When it was reported to the platform", fills=(Takedown, "reported_at"))
    how_reported = forms.ChoiceField(label="How it was reported", choices=HowReported.choices)
    platform_reference = forms.CharField(label="The platform's reference (optional)", max_length=100, required=False)
    owner = StaffAssigneeField(
        label="Who follows it up",
        queryset=None,
        required=False,
        empty_label="Me",
        help_text="A follow-up task is set 48 hours after the report.",
    )

    def __init__(self, *args, owners=None, **kwargs):
        kwargs.setdefault("auto_id", "takedown_%s")
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners
        self.fields["reported_at"].initial = timezone.localtime().strftime(DATETIME_FORMAT)


class RemovalForm(ClearErrorsMixin, forms.Form):
    removed_at = _when("When it was removed", fills=(Takedown, "removed_at"))
    platform_reference = forms.CharField(label="The platform's reference (optional)", max_length=100, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["removed_at"].initial = timezone.localtime().strftime(DATETIME_FORMAT)
