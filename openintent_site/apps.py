from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class OpenIntentAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "openintent_site.admin_site.DeskAdminSite"


class OpenIntentSiteConfig(AppConfig):
    name = "openintent_site"
    verbose_name = "Access"

    def ready(self):
        from . import schema  # noqa: F401  registers the API key scheme with drf-spectacular
