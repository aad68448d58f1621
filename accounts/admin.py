from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import Membership, Offer, Organisation, Role, User
from accounts.roles import RoleChangeRefused, change_roles


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "first_name", "last_name", "is_active", "is_staff")
    search_fields = ("email", "first_name", "last_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Name", {"fields": ("first_name", "last_name")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "first_name", "last_name", "password1", "password2")}),
    )


class MembershipAdminForm(forms.ModelForm):
    roles = forms.MultipleChoiceField(
        choices=Role.choices, widget=forms.CheckboxSelectMultiple, required=False, help_text="Staff member always."
    )

    class Meta:
        model = Membership
        fields = [
            "user",
            "organisation",
            "staff_type",
            "job_title",
            "department",
            "line_manager",
            "start_date",
            "leaving_date",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["roles"].initial = sorted(self.instance.roles)

    def clean(self):
        cleaned = super().clean()
        user = cleaned.get("user") or (self.instance.user if self.instance.pk else None)
        actor = getattr(self, "actor", None)
        if actor is not None and user is not None and user.pk == actor.pk:
            held = self.instance.roles if self.instance.pk else frozenset()
            if frozenset(cleaned.get("roles") or ()) | {Role.STAFF.value} != held | {Role.STAFF.value}:
                raise ValidationError("You cannot change your own roles: ask another administrator.")
        return cleaned


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Roles change here through ``accounts.roles.change_roles``, as on every other path."""

    form = MembershipAdminForm
    list_display = ("user", "organisation", "staff_type", "job_title", "leaving_date")
    list_filter = ("organisation", "staff_type")
    search_fields = ("user__email", "user__last_name", "job_title")
    raw_id_fields = ("user", "line_manager")

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.actor = request.user
        return form

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            try:
                change_roles(
                    membership=obj,
                    roles=form.cleaned_data.get("roles") or (),
                    actor=request.user,
                    via="the Django admin",
                )
            except RoleChangeRefused as exc:  # the form refuses first; this is the rule itself
                transaction.set_rollback(True)
                messages.error(request, str(exc))


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = ("user", "organisation", "offered_by", "created_at", "decided_at", "accepted")
    readonly_fields = [f.name for f in Offer._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "parent", "nation", "require_mfa")
    prepopulated_fields = {"slug": ("name",)}
