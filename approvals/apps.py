from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Social-media account approvals"

    def ready(self):
        from accounts.permissions import register_privilege_check
        from approvals.access import holds_credentials

        register_privilege_check(holds_credentials)
