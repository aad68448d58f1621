from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The top floor: what joins the three parts (the home page, the demo data). Nothing below
    imports it."""

    name = "portal"
    verbose_name = "Policy Portal"
