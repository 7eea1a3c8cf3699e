from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class GovernanceConfig(AppConfig):
    name = "governance"

    def ready(self):
        from intents.plans import guards
        from openintent_site.answers import register_object_serializer

        from .coordinators import admin  # noqa: F401  the coordinator pages (governance/admin.py is the desk's)
        from .coordinators.models import CoordinatorLease
        from .coordinators.serializers import LeaseSerializer
        from .coordinators.services import check_guardrails

        guards.register(check_guardrails)
        register_object_serializer(CoordinatorLease, LeaseSerializer)


class DeskAdminConfig(admin_apps.AdminConfig):
    """Django's admin, with the governance desk as its site (listed in INSTALLED_APPS instead of the admin)."""

    default = False
    default_site = "governance.desk.DeskAdminSite"
