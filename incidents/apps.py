from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Online-safety incidents"

    def ready(self):
        from core.backups import register_hashed_files
        from incidents.models import Evidence

        # Backups and restores check each original against its SHA-256 (destroyed records keep no files).
        register_hashed_files(
            Evidence.objects.filter(incident__destroyed_at=None), file_field="original", sha256_field="sha256"
        )
