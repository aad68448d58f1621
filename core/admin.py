from django.contrib import admin

from core import outbox
from core.models import AuditEntry, OutboxMessage


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "action", "actor", "organisation", "object_repr", "from_state", "to_state")
    list_filter = ("action",)
    search_fields = ("action", "object_repr")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OutboxStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("failed", "Failed"), ("unsent", "Not sent yet"), ("sent", "Sent")]

    def queryset(self, request, queryset):
        if self.value() == "failed":
            return queryset.filter(failed_at__isnull=False)
        if self.value() == "unsent":
            return queryset.filter(sent_at__isnull=True, failed_at__isnull=True)
        if self.value() == "sent":
            return queryset.filter(sent_at__isnull=False)
        return queryset


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Outgoing email: what waits, what was sent, and what failed with its error (``core.outbox``)."""

    list_display = ("created_at", "subject", "recipient", "state", "attempts", "sent_at", "last_error")
    list_filter = (OutboxStateFilter, "template")
    search_fields = ("recipient", "topic", "subject")
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in OutboxMessage._meta.fields]
    actions = ["send_again"]

    @admin.action(description="Send the selected failed or waiting emails again now")
    def send_again(self, request, queryset):
        count = outbox.retry(queryset)
        self.message_user(request, f"{count} email(s) will be sent again.")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
