from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "policies"
    verbose_name = "Policies and acknowledgements"

    def ready(self):
        # Here, not at module top: the app registry must be ready before models are imported.
        from accounts.signals import people_changed
        from core.backups import register_hashed_files
        from policies.models import Acknowledgement
        from policies.services import ask_people_changed

        people_changed.connect(ask_people_changed, dispatch_uid="policies.ask_people_changed")
        # Backups and restores check each scan of a signed sheet against its SHA-256.
        register_hashed_files(
            Acknowledgement.objects.exclude(signed_sheet=""),
            file_field="signed_sheet",
            sha256_field="signed_sheet_sha256",
        )
