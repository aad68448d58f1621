"""The Django admin's site: every change made through it is written to the audit trail.

``PortalAdminSite`` is ``admin.site`` (core.apps.PortalAdminConfig), so every ModelAdmin
registered anywhere, the portal's and other packages' alike, gets ``AuditedAdminMixin``
at registration: no app has to remember it. Django's own admin history (LogEntry) is
kept as well; the audit trail is the record that counts.
"""

import copy
import json

from django.contrib import admin
from django.core.serializers.json import DjangoJSONEncoder
from django.db import router, transaction

from core.audit import log_action
from core.models import AuditEntry

VIA = "the Django admin"


def _organisation_of(obj, *, itself: bool = True):
    organisation_model = AuditEntry._meta.get_field("organisation").related_model
    if itself and isinstance(obj, organisation_model):
        return obj
    organisation = getattr(obj, "organisation", None)
    return organisation if isinstance(organisation, organisation_model) else None


def _audit(action: str, request, obj, *, organisation, change=None) -> None:
    details = {"via": VIA}
    if change:
        details["change"] = json.loads(json.dumps(change, cls=DjangoJSONEncoder))
    log_action(action, actor=request.user, organisation=organisation, obj=obj, details=details)


class AuditedAdminMixin:
    """Adds, changes and deletions, each audited in the transaction that makes it."""

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        _audit("admin.added", request, obj, organisation=_organisation_of(obj), change=message)
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        _audit("admin.changed", request, obj, organisation=_organisation_of(obj), change=message)
        return entry

    # Deletions are audited around the deletion itself rather than in log_deletions, which
    # Django calls before deleting (and outside a transaction for the bulk action): only
    # rows that are really gone are recorded, and only if the deletion commits.

    def delete_model(self, request, obj):
        self._delete_audited(request, [obj], lambda: super(AuditedAdminMixin, self).delete_model(request, obj))

    def delete_queryset(self, request, queryset):
        self._delete_audited(
            request, list(queryset), lambda: super(AuditedAdminMixin, self).delete_queryset(request, queryset)
        )

    def _delete_audited(self, request, objects, delete) -> None:
        # Copies keep their primary keys (a deleted instance loses its own), and their
        # names and organisations are read now, while the rows they name still exist.
        doomed = []
        for obj in objects:
            kept = copy.copy(obj)
            str(kept)
            doomed.append((kept, _organisation_of(kept, itself=False)))
        with transaction.atomic(using=router.db_for_write(self.model)):
            delete()
            pks = [kept.pk for kept, _ in doomed]
            remaining = set(self.model._base_manager.filter(pk__in=pks).values_list("pk", flat=True))
            for kept, organisation in doomed:
                if kept.pk not in remaining:
                    _audit("admin.deleted", request, kept, organisation=organisation)


class PortalAdminSite(admin.AdminSite):
    site_header = "Policy Portal administration"

    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, AuditedAdminMixin):
            admin_class = type(
                admin_class.__name__,
                (AuditedAdminMixin, admin_class),
                {"__module__": admin_class.__module__, "__qualname__": admin_class.__qualname__},
            )
        super().register(model_or_iterable, admin_class, **options)
