from allauth.account.forms import AddEmailForm as AllauthAddEmailForm
from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import ResetPasswordForm as AllauthResetPasswordForm
from allauth.account.models import EmailAddress
from crispy_forms.helper import FormHelper
from django import forms
from django.contrib.auth.forms import SetPasswordForm

from accounts.models import Membership, Organisation, Role, StaffType, User
from accounts.staff_import import MAX_FILE_BYTES
from core.forms import ClearErrorsMixin, form_helper


def _helper(label: str) -> FormHelper:
    return form_helper(label)


class LoginForm(ClearErrorsMixin, AllauthLoginForm):
    """Sign-in, with messages that say what to enter (the wrong-password message is allauth's, shown
    in the error summary, which is announced)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["login"].error_messages["required"] = "Enter your work email address"
        self.fields["login"].error_messages["invalid"] = (
            "Enter your email address in the correct format, like name@example.org"
        )
        self.fields["password"].error_messages["required"] = "Enter your password"


class ResetPasswordForm(ClearErrorsMixin, AllauthResetPasswordForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].error_messages["required"] = "Enter the email address you sign in with"


class AcceptInvitationForm(ClearErrorsMixin, SetPasswordForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Set password and sign in")


class AddEmailForm(ClearErrorsMixin, AllauthAddEmailForm):
    """A new sign-in address: refused when it is already someone else's, confirmed before it counts."""

    def clean_email(self):
        email = super().clean_email()
        taken = User.objects.filter(email__iexact=email).exclude(pk=self.user.pk).exists() or (
            EmailAddress.objects.filter(email__iexact=email).exclude(user=self.user).exists()
        )
        if taken:
            raise forms.ValidationError(
                "This address belongs to another account, so it cannot be added to yours. "
                "If it is yours, ask your organisation's administrator."
            )
        return email


class InviteForm(ClearErrorsMixin, forms.Form):
    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    email = forms.EmailField()
    staff_type = forms.ChoiceField(choices=StaffType.choices, initial=StaffType.EMPLOYEE)
    job_title = forms.CharField(max_length=150, required=False)
    department = forms.CharField(max_length=150, required=False)
    roles = forms.MultipleChoiceField(
        choices=Role.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        initial=[Role.STAFF],
        help_text="Everyone is a staff member; tick any further roles.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Send invitation")

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class PersonWithoutEmailForm(ClearErrorsMixin, forms.Form):
    """A member of staff with no work email or device: a cleaner, a lunchtime supervisor."""

    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    staff_type = forms.ChoiceField(choices=StaffType.choices, initial=StaffType.EMPLOYEE)
    job_title = forms.CharField(max_length=150, required=False)
    department = forms.CharField(max_length=150, required=False)
    line_manager = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        empty_label="No line manager",
        help_text="They, or an administrator, record this person's acknowledgements for them.",
    )

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["first_name"].error_messages["required"] = "Enter the person's first name"
        self.fields["last_name"].error_messages["required"] = "Enter the person's last name"
        self.fields["line_manager"].queryset = (
            User.objects.filter(memberships__in=Membership.objects.current().filter(organisation=organisation))
            .exclude(email=None)
            .distinct()
        )
        self.helper = _helper("Add to the staff list")


class MembershipForm(ClearErrorsMixin, forms.ModelForm):
    roles = forms.MultipleChoiceField(
        choices=Role.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Everyone is a staff member; tick any further roles.",
    )

    class Meta:
        model = Membership
        fields = ["staff_type", "job_title", "department", "line_manager", "start_date", "leaving_date"]
        widgets = {
            "start_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "leaving_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }
        help_texts = {"leaving_date": "After this date the person can no longer sign in; their records are kept."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        org = self.instance.organisation
        # A line manager is told of their team's overdue acknowledgements by email and records
        # acknowledgements for those without one: someone with an address.
        self.fields["line_manager"].queryset = (
            User.objects.filter(memberships__organisation=org)
            .exclude(pk=self.instance.user_id)
            .exclude(email=None)
            .distinct()
        )
        self.fields["roles"].initial = sorted(self.instance.roles)
        self.helper = _helper("Save changes")

    def clean(self):
        cleaned = super().clean()
        start, leaving = cleaned.get("start_date"), cleaned.get("leaving_date")
        if start and leaving and leaving < start:
            self.add_error("leaving_date", "The leaving date cannot be before the start date.")
        return cleaned


class StaffImportForm(ClearErrorsMixin, forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Exported from your MIS: one row per person, with a header row.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    invite = forms.BooleanField(
        label="Email people who are new to the portal an invitation to set a password",
        required=False,
        initial=True,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Check and import")
        self.helper.form_tag = True
        self.helper.attrs = {"enctype": "multipart/form-data"}

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError("The file is larger than 5 MB.")
        return upload


class OrganisationSettingsForm(ClearErrorsMixin, forms.ModelForm):
    class Meta:
        model = Organisation
        fields = [
            "closing_time",
            "email_domains",
            "acknowledgement_period_days",
            "require_mfa",
        ]
        widgets = {"closing_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Save settings")
