from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Portal core"

    def ready(self):
        from core import checks  # noqa: F401  (registers the system checks)
        from core.db import grant_after_migrate, refuse_skipping_after_migrate
        from core.duties import register_periodic_duties

        post_migrate.connect(register_periodic_duties, sender=self)
        post_migrate.connect(grant_after_migrate, sender=self)
        post_migrate.connect(refuse_skipping_after_migrate, sender=self)


class PortalAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin whose ``admin.site`` writes the audit trail (core.adminsite)."""

    default = False  # CoreConfig stays core's own
    default_site = "core.adminsite.PortalAdminSite"
