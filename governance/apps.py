from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class GovernanceConfig(AppConfig):
    name = "governance"

    def ready(self):
        from intents.plans import guards
        from openintent_site import jobs
        from openintent_site.answers import register_object_serializer

        from . import tasks
        from .coordinators import admin  # noqa: F401  the coordinator pages (governance/admin.py is the desk's)
        from .coordinators.models import CoordinatorLease
        from .coordinators.serializers import CoordinatorLeaseSerializer
        from .coordinators.services import check_guardrails

        guards.register(check_guardrails)
        register_object_serializer(CoordinatorLease, CoordinatorLeaseSerializer)
        # The periodic job beat sends (CELERY_BEAT_SCHEDULE), for `manage.py sweep`.
        jobs.register(
            "sweep-coordinators",
            tasks.sweep_coordinators,
            "coordinator leases expired, found unresponsive, failed over or stalled",
        )


class DeskAdminConfig(admin_apps.AdminConfig):
    """Django's admin, with the governance desk as its site (listed in INSTALLED_APPS instead of the admin)."""

    default = False
    default_site = "governance.desk.DeskAdminSite"
