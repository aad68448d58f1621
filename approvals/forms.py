from crispy_forms.helper import FormHelper
from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from approvals.certificates import MAX_BYTES, certificate_type
from approvals.models import (
    AccountRequest,
    AccountRole,
    DecisionKind,
    ItemKind,
    OfficialAccount,
    ResponseItem,
    TrainingRecord,
)
from core.forms import ClearErrorsMixin, form_helper
from core.validators import field_validators


def _helper(label: str, *, multipart: bool = False) -> FormHelper:
    return form_helper(label, multipart=multipart)


class RequestForm(ClearErrorsMixin, forms.ModelForm):
    """The business case, in the words of seed 001 §4."""

    lead = forms.ModelChoiceField(queryset=None, label="Who will lead the account")
    others = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        label="Who else will run the account",
        help_text="Anyone on the staff list, volunteers included.",
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = AccountRequest
        fields = ["kind", "platform", "proposed_name", "official_email", "aim", "audience", "promotion", "visibility"]
        widgets = {
            "aim": forms.Textarea(attrs={"rows": 3}),
            "audience": forms.Textarea(attrs={"rows": 2}),
            "promotion": forms.Textarea(attrs={"rows": 2}),
            "visibility": forms.RadioSelect,
        }
        labels = {"kind": "What do you want to set up?"}
        error_messages = {"kind": {"required": "Select what you want to set up"}}

    def __init__(self, *args, staff=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead"].queryset = staff
        self.fields["others"].queryset = staff
        if self.instance.pk:
            runners = list(self.instance.runners.all())
            self.fields["lead"].initial = next((r.user_id for r in runners if r.is_lead), None)
            self.fields["others"].initial = [r.user_id for r in runners if not r.is_lead]
        self.helper = _helper("Save draft")

    def clean(self):
        cleaned = super().clean()
        lead = cleaned.get("lead")
        if lead:
            cleaned["others"] = [u for u in cleaned.get("others") or [] if u.pk != lead.pk]
        return cleaned

    def runners(self):
        return [(self.cleaned_data["lead"], True)] + [(u, False) for u in self.cleaned_data["others"]]


class DecisionForm(ClearErrorsMixin, forms.Form):
    kind = forms.ChoiceField(choices=DecisionKind.choices, widget=forms.RadioSelect, label="Your decision")
    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Reason",
        help_text="Needed when you reject or ask for changes; the requester sees it.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Record decision")


class TrainingForm(ClearErrorsMixin, forms.Form):
    person = forms.ModelChoiceField(queryset=None)
    course = forms.CharField(max_length=200, initial="Social media for school staff")
    completed_on = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=field_validators(TrainingRecord, "completed_on"),
    )
    expires_on = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Usually two years after completion; at most five.",
        validators=field_validators(TrainingRecord, "expires_on"),
    )
    evidence = forms.FileField(
        required=False,
        help_text="A certificate, if you have one (PDF, PNG or JPEG, at most 10 MB). "
        "Training you record yourself counts once an administrator or SLT has verified it.",
    )

    def __init__(self, *args, people=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = people
        if people is not None and people.count() == 1:
            self.fields["person"].initial = people.first()
            self.fields["person"].widget = forms.HiddenInput()
        self.helper = _helper("Record training", multipart=True)

    def clean_evidence(self):
        evidence = self.cleaned_data.get("evidence")
        if evidence:
            if evidence.size > MAX_BYTES:
                raise forms.ValidationError("The file is larger than 10 MB.")
            head = evidence.read(16)
            evidence.seek(0)
            if certificate_type(head) is None:  # decided by the content, never the name
                raise forms.ValidationError("The certificate must be a PDF, PNG or JPEG file, whatever its name says.")
        return evidence


class ChecklistForm(ClearErrorsMixin, forms.ModelForm):
    url = forms.URLField(label="Address (URL)", required=False, assume_scheme="https")

    class Meta:
        model = OfficialAccount
        fields = [
            "url",
            "linked_to_official_email",
            "policy_link_in_about",
            "official_branding",
            "two_factor_on",
            "credentials_location",
            "credentials_changed_on",
            "shared_with_slt",
        ]
        widgets = {"credentials_changed_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Save checklist")


class CredentialsForm(ClearErrorsMixin, forms.Form):
    secret = forms.CharField(
        label="Sign-in details",
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off"}),
        max_length=2000,
        help_text="User name, password and recovery codes. Stored encrypted; SLT are told of every change.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Save sign-in details")


class CheckForm(ClearErrorsMixin, forms.Form):
    admins_confirmed = forms.BooleanField(required=False, label="The administrators listed are right")
    two_factor_still_on = forms.BooleanField(required=False, label="Two-factor sign-in is still on")
    checklist_still_true = forms.BooleanField(required=False, label="Everything on the checklist is still true")
    notes = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="Say what is no longer right, if anything."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Record termly check")


class HandoverForm(ClearErrorsMixin, forms.Form):
    new_lead = forms.ModelChoiceField(queryset=None, label="New lead")

    def __init__(self, *args, staff=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_lead"].queryset = staff
        self.helper = _helper("Hand over")


class CloseForm(ClearErrorsMixin, forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Why is the account closing?")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Close the account")


class TeamForm(ClearErrorsMixin, forms.Form):
    person = forms.ModelChoiceField(queryset=None)
    role = forms.ChoiceField(choices=AccountRole.choices)

    def __init__(self, *args, staff=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = staff
        self.helper = _helper("Add to the team")


class ItemForm(ClearErrorsMixin, forms.Form):
    kind = forms.ChoiceField(choices=ItemKind.choices)
    received_at = forms.DateTimeField(
        label="Received at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        validators=field_validators(ResponseItem, "received_at"),
    )
    summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, help_text="What was said, briefly."
    )
    link = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="A link to the post or message, if there is one.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["received_at"].initial = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
        self.helper = _helper("Log it")


class AnswerForm(ClearErrorsMixin, forms.Form):
    response = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, label="How was it answered?")


class IntakeItemForm(ClearErrorsMixin, forms.Form):
    """One item posted as JSON to the signed intake: checked field by field, nothing cut short."""

    external_id = forms.CharField(max_length=200, help_text="The platform's id of the comment or message.")
    kind = forms.ChoiceField(choices=ItemKind.choices, required=False)
    received_at = forms.CharField()
    summary = forms.CharField(max_length=2000)
    link = forms.CharField(max_length=500, required=False)

    def clean_kind(self):
        return self.cleaned_data["kind"] or ItemKind.COMMENT

    def clean_received_at(self):
        try:
            received = parse_datetime(self.cleaned_data["received_at"])
        except ValueError:
            received = None
        if received is None or received.tzinfo is None:
            raise forms.ValidationError("Give an ISO 8601 time with its offset, e.g. 2026-03-02T08:00:00+00:00.")
        for validator in field_validators(ResponseItem, "received_at"):
            validator(received)
        return received

    def error_text(self) -> str:
        return "; ".join(f"{name}: {' '.join(errors)}" for name, errors in self.errors.items())
