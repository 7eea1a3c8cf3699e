from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class GovernanceConfig(AppConfig):
    name = "governance"


class DeskAdminConfig(admin_apps.AdminConfig):
    """Django's admin, with the governance desk as its site (listed in INSTALLED_APPS instead of the admin)."""

    default = False
    default_site = "governance.desk.DeskAdminSite"
