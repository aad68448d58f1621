import re

from crispy_forms.helper import FormHelper
from django import forms
from django.forms import BaseFormSet, formset_factory
from django.utils import timezone

from core.forms import ClearErrorsMixin, form_helper
from core.validators import field_validators
from incidents import evidence as evidence_files
from incidents.models import (
    CATEGORY_RULES,
    HAND_ACTIONS,
    OUTCOMES_NEEDING_REASON,
    ActionKind,
    Category,
    Evidence,
    Incident,
    IncidentAction,
    Outcome,
    Platform,
    PublicReporter,
    RetentionDecision,
    RetentionReview,
    Severity,
    Status,
)

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


def _helper(label: str, *, tag: bool = True) -> FormHelper:
    return form_helper(label, tag=tag)


def _when(label: str, help_text: str = "", *, fills, missing: str = "") -> forms.DateTimeField:
    """A date and time something happened, held to the range of the model field it ``fills``
    (``(Model, "field")``): since 2000, not in the future. ``missing`` says what to enter, as in
    "Enter the date and time it happened"."""
    messages = {}
    if missing:
        thing = missing.removeprefix("Enter ")
        messages = {"required": missing, "invalid": f"Enter {thing} as a real date and time, like 14/03/2026 09:30"}
    return forms.DateTimeField(
        label=label,
        help_text=help_text,
        error_messages=messages,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
        validators=field_validators(*fills),
    )


# A pupil is given as initials and a year group or class, never a name: "JS, Year 8" or "A.B. 4C".
PUPIL_LINE = re.compile(r"^\s*(?P<initials>(?:[A-Z]\.?\s?){1,4})\s*[,;:\-–]?\s*(?P<group>.{1,30}?)\s*$")
GROUP_WORDS = re.compile(
    r"^(year|yr|y|class|form|group|reception|nursery|key stage|ks|p|s|level|course)\b|^\d{1,2}[a-z]{0,3}\b",
    re.IGNORECASE,
)


def parse_pupils(text: str) -> list[dict]:
    pupils = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        match = PUPIL_LINE.match(line)
        group = match["group"].strip() if match else ""
        if not match or not GROUP_WORDS.match(group):
            raise forms.ValidationError(
                f"Line {number} (“{line.strip()[:40]}”): give initials and a year group or class only, "
                "for example “JS, Year 8”. Do not write pupils' names."
            )
        initials = re.sub(r"[^A-Z]", "", match["initials"])
        pupils.append({"initials": initials, "group": group})
    return pupils


class StaffChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user):
        return user.full_name or user.email


class ReportForm(ClearErrorsMixin, forms.Form):
    category = forms.ChoiceField(
        label="What kind of concern is it?",
        choices=Category.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select what kind of concern it is"},
    )
    platform = forms.ChoiceField(label="Where online", choices=Platform.choices, initial=Platform.OTHER)
    occurred_at = _when(
        "When did it happen?",
        "Your best estimate if you are not sure.",
        fills=(Incident, "occurred_at"),
        missing="Enter the date and time it happened",
    )
    location = forms.CharField(
        label="Web address or account name",
        max_length=500,
        required=False,
        help_text="For example https://… or @account-name. Leave empty if you do not know.",
    )
    description = forms.CharField(
        label="What happened?",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Facts only: what you saw or were told, and by whom. Do not write pupils' names.",
        error_messages={"required": "Describe what happened: what you saw or were told, and by whom"},
    )
    official_account = forms.ModelChoiceField(
        label="Did it happen on one of our official accounts?",
        queryset=None,
        required=False,
        empty_label="No, or not sure",
        help_text="Accounts in the register of official accounts.",
    )
    subjects = StaffChoiceField(
        label="Staff the concern is about",
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="They will not see this report.",
    )
    affected = StaffChoiceField(
        label="Staff affected (for example, abused online)",
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="They will not see or handle this report either.",
    )
    pupils = forms.CharField(
        label="Pupils involved",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line: initials and year group or class only, for example “JS, Year 8”.",
    )

    def __init__(self, *args, staff=None, accounts=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subjects"].queryset = staff
        self.fields["affected"].queryset = staff
        self.fields["official_account"].queryset = accounts
        self.helper = _helper("Send report", tag=False)

    @property
    def names_people(self) -> bool:
        """Whether "Who is involved" opens: something is filled in there, or an answer there was refused."""
        people = ("subjects", "affected", "pupils")
        filled = any(self[name].value() for name in people)
        return filled or (self.is_bound and any(name in self.errors for name in people))

    def clean_pupils(self):
        return parse_pupils(self.cleaned_data.get("pupils", ""))

    def clean(self):
        data = super().clean()
        both = set(data.get("subjects") or []) & set(data.get("affected") or [])
        if both:
            self.add_error("affected", "Name each person once: either the concern is about them, or they are affected.")
        return data


class EvidenceForm(ClearErrorsMixin, forms.Form):
    file = forms.FileField(
        label="File",
        required=False,
        help_text="A screenshot or photo (PNG, JPEG or WebP) or a PDF, at most 10 MB.",
        widget=forms.ClearableFileInput(
            attrs={"accept": ".png,.jpg,.jpeg,.webp,.pdf,image/png,image/jpeg,image/webp,application/pdf"}
        ),
    )
    shown_at = _when(
        "Date and time it shows", "The date and time on the post or message.", fills=(Evidence, "shown_at")
    )
    shown_at.required = False

    def clean(self):
        data = super().clean()
        if data.get("file") and not data.get("shown_at") and "shown_at" not in self.errors:
            self.add_error("shown_at", "Give the date and time this file shows.")
        if data.get("shown_at") and not data.get("file"):
            self.add_error("file", "Choose the file, or clear the date.")
        return data


class BaseEvidenceFormSet(BaseFormSet):
    default_error_messages = {
        "too_many_forms": f"A report can hold at most {evidence_files.MAX_FILES} files.",
        "too_few_forms": "Please submit at least %(num)d file.",
        "missing_management_form": "The form was incomplete. Reload the page and try again.",
    }

    def files_with_times(self) -> list:
        return [(f.cleaned_data["file"], f.cleaned_data["shown_at"]) for f in self.forms if f.cleaned_data.get("file")]


EvidenceFormSet = formset_factory(
    EvidenceForm,
    formset=BaseEvidenceFormSet,
    extra=1,  # one slot at first; "Add another file" adds the rest (static/js/evidence-slots.js)
    max_num=evidence_files.MAX_FILES,
    absolute_max=evidence_files.MAX_FILES,
    validate_max=True,
)


class BasePublicEvidenceFormSet(BaseEvidenceFormSet):
    default_error_messages = {
        **BaseEvidenceFormSet.default_error_messages,
        "too_many_forms": f"You can send at most {evidence_files.PUBLIC_MAX_FILES} files with a report.",
    }


# The public form: the same checks as staff reports (``incidents.evidence``), fewer files, and all
# of them within the body an anonymous sender may send (settings.ANONYMOUS_UPLOAD_MAX_BODY_BYTES).
PublicEvidenceFormSet = formset_factory(
    EvidenceForm,
    formset=BasePublicEvidenceFormSet,
    extra=1,
    max_num=evidence_files.PUBLIC_MAX_FILES,
    absolute_max=evidence_files.PUBLIC_MAX_FILES,
    validate_max=True,
)


PUBLIC_CATEGORY_LABELS = [
    (Category.UNOFFICIAL_ACCOUNT, "An account using the organisation's name or logo that may not be official"),
    (Category.OFFICIAL_ACCOUNT_COMMENT, "Something posted on one of the organisation's official accounts"),
    (Category.CYBERBULLYING, "Bullying online"),
    (Category.PUPIL_COMMUNICATION, "A worrying message or post involving a pupil or learner"),
    (Category.STAFF_BREACH, "Something a member of staff posted or sent"),
    (Category.ABUSE_OF_STAFF, "Abuse of a member of staff online"),
    (Category.NUDE_IMAGERY, "Nude or semi-nude images"),
    (Category.RADICALISATION, "Extremist content"),
    (Category.OTHER, "Something else"),
]


class PublicReportForm(ClearErrorsMixin, forms.Form):
    public_reporter = forms.ChoiceField(
        label="Are you…",
        choices=PublicReporter.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select whether you are a learner, a parent or carer, or someone else"},
    )
    category = forms.ChoiceField(
        label="What is it about?",
        choices=PUBLIC_CATEGORY_LABELS,
        widget=forms.RadioSelect,
        error_messages={"required": "Select what it is about"},
    )
    platform = forms.ChoiceField(label="Where online", choices=Platform.choices, initial=Platform.OTHER)
    occurred_at = _when(
        "When did it happen or when did you see it?",
        "Your best estimate if you are not sure.",
        fills=(Incident, "occurred_at"),
        missing="Enter the date and time it happened or you saw it",
    )
    location = forms.CharField(
        label="Web address or account name", max_length=500, required=False, help_text="If you know it."
    )
    description = forms.CharField(
        label="What happened?",
        max_length=3000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Please do not include anyone's full name. Add screenshots below instead of describing them.",
        error_messages={"required": "Describe what happened"},
    )
    contact_name = forms.CharField(label="Your name (optional)", max_length=150, required=False)
    contact_details = forms.CharField(
        label="Email or phone number (optional)",
        max_length=200,
        required=False,
        help_text="Only if you would like us to contact you. You can stay anonymous.",
    )
    email = forms.EmailField(
        label="Email address for updates (optional)",
        max_length=254,
        required=False,
        help_text="We will email you a confirmation, and again when the status of your report changes and when it "
        "is closed. Leave it empty and you can still follow your report with the private link we show you next.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={"invalid": "Enter an email address such as name@example.com, or leave it empty."},
    )
    # The spam trap: hidden from people (and from screen readers); bots fill it in.
    website = forms.CharField(
        required=False,
        label="Leave this empty",
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Send", tag=False)

    @property
    def is_spam(self) -> bool:
        return bool(self.data.get("website"))


class StaffAssigneeField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        return user.full_name or user.email


class TriageForm(ClearErrorsMixin, forms.Form):
    severity = forms.ChoiceField(
        choices=Severity.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select how severe it is"},
    )
    # No answer is chosen for the DSL (the view gives none before the first triage): a triage saved from
    # the keyboard without a choice is refused, never recorded as "not safeguarding".
    is_safeguarding = forms.TypedChoiceField(
        label="Is this a safeguarding matter?",
        choices=[
            ("yes", "Yes: only the DSL team and the organisation lead see it"),
            ("no", "No: SLT can see and lead it"),
        ],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
        error_messages={"required": "Select whether this is a safeguarding matter"},
    )
    assignee = StaffAssigneeField(label="Who handles it", queryset=None)
    first_assessment = forms.CharField(
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Enter your first assessment: what happened and what you will do first"},
    )
    lado_referral_needed = forms.BooleanField(
        label="A LADO referral is needed (an allegation about someone who works with children)",
        required=False,
        help_text="Due within one working day; you will be reminded.",
    )

    def __init__(self, *args, handlers=None, **kwargs):
        kwargs.setdefault("auto_id", "triage_%s")
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = handlers
        self.helper = _helper("Save triage")


YES_NO = [("yes", "Yes"), ("no", "No")]


class ThresholdForm(ClearErrorsMixin, forms.Form):
    """The harm-threshold questions (KCSIE Part 4), each answered yes or no: none is answered for the DSL."""

    reasons = forms.CharField(
        label="Reasons for the decision",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the answers rest on. Kept with the decision for the DSL team and the organisation lead.",
        error_messages={"required": "Give the reasons for the decision: they are part of the record."},
    )

    def __init__(self, *args, questions=(), **kwargs):
        kwargs.setdefault("auto_id", "threshold_%s")
        super().__init__(*args, **kwargs)
        answers = {
            name: forms.TypedChoiceField(
                label=question,
                choices=YES_NO,
                coerce=lambda v: v == "yes",
                widget=forms.RadioSelect,
                error_messages={"required": "Answer this question: yes or no."},
            )
            for name, question in questions
        }
        self.fields = {**answers, "reasons": self.fields["reasons"]}
        self.helper = _helper("Record the decision")


class ActionForm(ClearErrorsMixin, forms.Form):
    kind = forms.ChoiceField(label="Action", choices=[(k.value, k.label) for k in HAND_ACTIONS])
    happened_at = _when("When", fills=(IncidentAction, "happened_at"))
    text = forms.CharField(
        label="What was done, and by whom", max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    external_reference = forms.CharField(
        label="Their reference (optional)",
        max_length=100,
        required=False,
        help_text="For example a police crime number or the platform's report number.",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "action_%s")
        super().__init__(*args, **kwargs)
        self.fields["happened_at"].initial = timezone.localtime().strftime(DATETIME_FORMAT)
        self.helper = _helper("Add to chronology")


class AddendumForm(ClearErrorsMixin, forms.Form):
    corrects = forms.ModelChoiceField(label="Entry to correct", queryset=None)
    text = forms.CharField(label="Correction", max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, entries=None, **kwargs):
        kwargs.setdefault("auto_id", "addendum_%s")
        super().__init__(*args, **kwargs)
        self.fields["corrects"].queryset = entries
        self.fields["corrects"].label_from_instance = lambda e: (
            f"{timezone.localtime(e.happened_at):%d %b %Y %H:%M}: {e.get_kind_display()}"
        )
        self.helper = _helper("Add correction")


class StatusForm(ClearErrorsMixin, forms.Form):
    to = forms.ChoiceField(
        label="Move to",
        choices=[(Status.IN_PROGRESS, Status.IN_PROGRESS.label), (Status.REFERRED, Status.REFERRED.label)],
    )


class CloseForm(ClearErrorsMixin, forms.Form):
    outcome = forms.ChoiceField(choices=[("", "Choose the outcome…"), *Outcome.choices])
    reason = forms.CharField(
        label="Reason and summary",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required when no action is taken or the concern is unfounded.",
    )
    reporter_message = forms.CharField(
        label="Message to the person who reported it (optional)",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="They see it on their status page, and by email if they left an address. "
        "Write for them: no names, no handlers' notes.",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "close_%s")
        super().__init__(*args, **kwargs)
        self.helper = _helper("Close incident")

    def clean(self):
        data = super().clean()
        if data.get("outcome") in OUTCOMES_NEEDING_REASON and not data.get("reason", "").strip():
            self.add_error("reason", "Say why no action is taken.")
        return data


class ReasonForm(ClearErrorsMixin, forms.Form):
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class BreachForm(ClearErrorsMixin, forms.Form):
    person = StaffAssigneeField(label="Member of staff", queryset=None)
    version = forms.ModelChoiceField(label="Policy version breached", queryset=None)
    clause = forms.CharField(max_length=30, help_text="For example 5.4(c).")

    def __init__(self, *args, subjects=None, versions=None, **kwargs):
        kwargs.setdefault("auto_id", "breach_%s")
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = subjects
        self.fields["version"].queryset = versions
        self.fields["version"].label_from_instance = lambda v: (
            f"{v.policy.title} v{v.label}"
            + (f" (published {timezone.localtime(v.published_at):%d %b %Y})" if v.published_at else "")
        )
        self.helper = _helper("Record breach")


class RetentionReviewForm(ClearErrorsMixin, forms.Form):
    decision = forms.ChoiceField(choices=RetentionDecision.choices, widget=forms.RadioSelect)
    keep_until = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="When keeping it.",
        validators=field_validators(RetentionReview, "keep_until"),
    )
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "retention_%s")
        super().__init__(*args, **kwargs)


class RetentionPeriodsForm(ClearErrorsMixin, forms.Form):
    def __init__(self, *args, current: dict[str, int], **kwargs):
        super().__init__(*args, **kwargs)
        for category in Category:
            self.fields[category.value] = forms.IntegerField(
                label=category.label,
                min_value=1,
                max_value=100,
                initial=current[category.value],
                help_text=f"Default {CATEGORY_RULES[category].retention_years} years from closure.",
            )
        self.helper = _helper("Save retention periods")


ACTION_LABELS = dict(ActionKind.choices)
