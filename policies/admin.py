from django.contrib import admin

from policies.models import Acknowledgement, AcknowledgementRequest, Policy, PolicyVersion


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records kept for evidence: visible to administrators, changed only through the portal."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Policy)
class PolicyAdmin(ReadOnlyAdmin):
    list_display = (
        "title",
        "organisation",
        "owner",
        "author",
        "approval_body",
        "next_review_date",
        "is_social_media_policy",
    )
    list_filter = ("organisation", "category")
    search_fields = ("title", "author")


@admin.register(PolicyVersion)
class PolicyVersionAdmin(ReadOnlyAdmin):
    list_display = ("policy", "label", "status", "published_at", "due_date")
    list_filter = ("status",)


@admin.register(Acknowledgement)
class AcknowledgementAdmin(ReadOnlyAdmin):
    list_display = ("user", "version", "acknowledged_at", "ip_address")
    search_fields = ("user__email",)
    date_hierarchy = "acknowledged_at"


@admin.register(AcknowledgementRequest)
class AcknowledgementRequestAdmin(ReadOnlyAdmin):
    list_display = ("user", "version", "due_date", "acknowledgement", "reminder_stage")
    raw_id_fields = ("user", "membership", "acknowledgement")
