from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Portal core"

    def ready(self):
        from core.duties import register_periodic_duties

        post_migrate.connect(register_periodic_duties, sender=self)
