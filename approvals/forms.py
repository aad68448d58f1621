from crispy_forms.helper import FormHelper
from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from approvals.approval_rules import MOST_APPROVALS, Rule
from approvals.certificates import ACCEPTED, UploadError, checked_certificate
from approvals.models import (
    AccountRequest,
    AccountRole,
    DecisionKind,
    ItemKind,
    OfficialAccount,
    RequestKind,
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
        label="Certificate",
        help_text=f"A certificate, if you have one ({ACCEPTED}, at most 10 MB). "
        "Training you record yourself counts once an administrator or SLT has verified it.",
    )

    def __init__(self, *args, people=None, person=None, **kwargs):
        """``people``: whom the person may record for (``access.training_people``); ``person``: the
        one chosen, found by search on the page (never a select box of a whole trust)."""
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = people
        self.fields["person"].initial = person.pk if person else None
        self.fields["person"].widget = forms.HiddenInput()
        self.helper = _helper("Record training", multipart=True)

    def clean_evidence(self):
        evidence = self.cleaned_data.get("evidence")
        if evidence:
            try:
                checked_certificate(evidence)  # the checks evidence passes, by the content, never the name
            except UploadError as exc:
                raise forms.ValidationError(str(exc)) from None
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
    role = forms.ChoiceField(choices=AccountRole.choices, initial=AccountRole.MODERATOR)

    def __init__(self, *args, staff=None, appoint: bool = False, **kwargs):
        """``appoint``: the person may make administrators (``access.can_appoint_administrators``);
        others are offered the moderator role alone."""
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = staff
        if appoint:
            self.fields["role"].choices = [
                (AccountRole.MODERATOR, "Moderator: runs the account without its password"),
                (AccountRole.ADMINISTRATOR, "Administrator: also keeps and sees its password"),
            ]
        else:
            self.fields["role"].choices = [(AccountRole.MODERATOR, "Moderator: runs the account without its password")]
            self.fields["role"].help_text = "Only the senior leadership team can make someone an administrator."
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
    response = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        label="How was it answered?",
        error_messages={"required": "Say how it was answered, even if only that it was received"},
    )

    def __init__(self, *args, item=None, **kwargs):
        # One form per item on the log page: each field's id names its item (``answer-12-response``).
        if item is not None:
            kwargs.setdefault("auto_id", f"answer-{item.pk}-%s")
        super().__init__(*args, **kwargs)


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


class ApprovalRulesForm(ClearErrorsMixin, forms.Form):
    """One rule per kind of request (``approvals.approval_rules``): fields ``<kind>-approvals`` and
    ``<kind>-lead``."""

    def __init__(self, *args, rules=None, **kwargs):
        super().__init__(*args, **kwargs)
        for kind, label in RequestKind.choices:
            rule = rules[kind]
            self.fields[f"{kind}-approvals"] = forms.IntegerField(
                label=f"{label}: approvals needed",
                min_value=1,
                max_value=MOST_APPROVALS,
                initial=rule.slt_approvals,
                help_text="From the senior leadership team; the organisation lead's approval counts as one.",
            )
            self.fields[f"{kind}-lead"] = forms.BooleanField(
                label=f"{label}: the organisation lead must approve",
                required=False,
                initial=rule.lead_must_approve,
            )
        self.helper = _helper("Save approval rules")

    def rules(self) -> dict[str, Rule]:
        return {
            kind: Rule(self.cleaned_data[f"{kind}-approvals"], self.cleaned_data[f"{kind}-lead"])
            for kind in RequestKind.values
        }
