from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "policies"
    verbose_name = "Policies and acknowledgements"

    def ready(self):
        # Here, not at module top: the app registry must be ready before models are imported.
        from accounts.signals import people_changed
        from policies.services import ask_people_changed

        people_changed.connect(ask_people_changed, dispatch_uid="policies.ask_people_changed")
