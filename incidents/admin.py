from django.contrib import admin

from incidents.models import Incident


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    """Only the reference and state: the details stay behind the portal's own access rules."""

    list_display = ("reference", "organisation", "category", "status", "severity", "reported_at", "legal_hold")
    list_filter = ("status", "category", "organisation")
    fields = list_display
    readonly_fields = list_display

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
