import datetime as dt

from crispy_forms.helper import FormHelper
from django import forms

from accounts.models import Role, StaffType, today
from core.forms import ClearErrorsMixin, form_helper
from policies.document_limits import MAX_TEXT_CHARS, MAX_UPLOAD_BYTES
from policies.models import ASSISTED_METHODS, Policy, PolicyVersion, SourceFormat


def _helper(label: str, *, multipart: bool = False) -> FormHelper:
    return form_helper(label, multipart=multipart)


class PolicyForm(ClearErrorsMixin, forms.ModelForm):
    audience_roles = forms.MultipleChoiceField(
        label="Only people with these roles",
        choices=Role.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Leave empty for everyone.",
    )
    audience_staff_types = forms.MultipleChoiceField(
        label="Only these staff types",
        choices=StaffType.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Leave empty for every type: volunteers, agency staff and governors included.",
    )

    class Meta:
        model = Policy
        fields = [
            "title",
            "category",
            "owner",
            "author",
            "approval_body",
            "review_frequency_months",
            "is_social_media_policy",
            "audience_roles",
            "audience_staff_types",
        ]
        labels = {"review_frequency_months": "Review every (months)"}

    def __init__(self, *args, owners=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners
        self.helper = _helper("Save policy")


class VersionForm(ClearErrorsMixin, forms.ModelForm):
    upload = forms.FileField(
        label="File",
        required=False,
        help_text="For a PDF or Word (.docx) version, at most 10 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.docx,application/pdf"}),
    )

    class Meta:
        model = PolicyVersion
        fields = [
            "label",
            "source_format",
            "text",
            "summary_of_changes",
            "effective_date",
            "approval_date",
            "approved_by",
            "requires_acknowledgement",
        ]
        widgets = {
            "text": forms.Textarea(attrs={"rows": 18}),
            "summary_of_changes": forms.Textarea(attrs={"rows": 3}),
            "effective_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "approval_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Save draft", multipart=True)

    def clean_text(self):
        text = self.cleaned_data.get("text", "")
        if len(text) > MAX_TEXT_CHARS:
            raise forms.ValidationError(f"The text is longer than {MAX_TEXT_CHARS:,} characters.")
        return text

    def clean_upload(self):
        upload = self.cleaned_data.get("upload")
        if upload and upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError("The file is larger than 10 MB.")
        return upload

    def clean(self):
        cleaned = super().clean()
        source = cleaned.get("source_format")
        if source == SourceFormat.MARKDOWN and not (cleaned.get("text") or "").strip():
            self.add_error("text", "Write the policy text.")
        if source in (SourceFormat.PDF, SourceFormat.DOCX) and not cleaned.get("upload") and not self.instance.document:
            self.add_error("upload", "Choose the file to upload.")
        return cleaned


class PublishForm(ClearErrorsMixin, forms.Form):
    due_date = forms.DateField(
        label="Staff must acknowledge it by",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="New starters get their own date from their start date.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Publish")

    def clean_due_date(self):
        due = self.cleaned_data["due_date"]
        if due < today():
            raise forms.ValidationError("The date cannot be before today, the publication date.")
        if due > today() + dt.timedelta(days=365):
            raise forms.ValidationError("Choose a date within the next year.")
        return due


class ImportPolicyForm(ClearErrorsMixin, forms.Form):
    file = forms.FileField(
        help_text="A Markdown (.md) or plain text (.txt) file, like a policy exported from Word as text.",
        widget=forms.ClearableFileInput(attrs={"accept": ".md,.txt,text/plain,text/markdown"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Import as a draft", multipart=True)


class QuestionForm(ClearErrorsMixin, forms.Form):
    prompt = forms.CharField(label="Question", max_length=300)
    choices = forms.CharField(
        label="Answers",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One answer per line, two to five answers.",
    )
    correct_choice = forms.IntegerField(label="Number of the right answer", min_value=1, initial=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Add question")

    def clean(self):
        cleaned = super().clean()
        choices = [line.strip() for line in (cleaned.get("choices") or "").splitlines() if line.strip()]
        if not 2 <= len(choices) <= 5:
            self.add_error("choices", "Give between two and five answers, one per line.")
        elif cleaned.get("correct_choice") and cleaned["correct_choice"] > len(choices):
            self.add_error("correct_choice", f"There are only {len(choices)} answers.")
        cleaned["choices"] = choices
        return cleaned


class QuizForm(ClearErrorsMixin, forms.Form):
    """A version's questions, one radio group each, none answered for the reader."""

    error_summary_on_page = True  # the reading page is long: its summary opens the page (policies/read.html)

    def __init__(self, *args, questions, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = questions
        for number, question in enumerate(questions, start=1):
            self.fields[f"question-{question.pk}"] = forms.TypedChoiceField(
                label=f"{number}. {question.prompt}",
                choices=list(enumerate(question.choices)),
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={
                    "required": f"Select an answer to question {number}",
                    "invalid_choice": f"Select one of the answers given for question {number}",
                },
            )
        self.helper = form_helper("Check my answers", tag=False)

    def answers(self) -> dict[int, int]:
        return {q.pk: self.cleaned_data[f"question-{q.pk}"] for q in self.questions}


class AcknowledgeForm(ClearErrorsMixin, forms.Form):
    error_summary_on_page = True
    confirm = forms.BooleanField(
        label="I have read and understood this policy, and I will follow it.",
        error_messages={"required": "Tick the box to confirm you have read and understood the policy."},
    )


class AskOwnerForm(ClearErrorsMixin, forms.Form):
    question = forms.CharField(
        label="Your question for the policy's owner",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Send question")


class ReviewForm(ClearErrorsMixin, forms.Form):
    notes = forms.CharField(
        label="Notes from the review", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Record review: no change needed")


class AssistedAcknowledgementForm(ClearErrorsMixin, forms.Form):
    """What a line manager or administrator records from a signed sheet or a shared device
    (``policies.assisted``)."""

    requests = forms.MultipleChoiceField(
        label="Policies they signed for",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one policy they signed for"},
    )
    method = forms.ChoiceField(
        label="How they acknowledged",
        choices=[(m.value, m.label) for m in ASSISTED_METHODS],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose how they acknowledged: on paper or at a shared device"},
    )
    made_on = forms.DateField(
        label="The date they signed",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="As written on the signed sheet.",
        error_messages={
            "required": "Enter the date they signed",
            "invalid": "Enter the date they signed as a real date, like 2 12 2026",
        },
    )
    signed_sheet = forms.FileField(
        label="Scan or photo of the signed sheet (optional)",
        required=False,
        help_text="PNG, JPEG, WebP or PDF, at most 10 MB. Kept with the record, for inspection.",
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg,.webp,application/pdf,image/*"}),
    )
    confirm = forms.BooleanField(
        label="They have read these policies and signed to say they understood them",
        error_messages={"required": "Confirm that they read and signed for the policies, or do not record them"},
    )

    def __init__(self, *args, open_requests, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["requests"].choices = [
            (
                str(r.pk),
                f"{r.version.policy.title} (version {r.version.label}, due {r.due_date:%-d %B %Y})",
            )
            for r in open_requests
        ]
        self.fields["made_on"].initial = today()
        self.helper = _helper("Record acknowledgement", multipart=True)
