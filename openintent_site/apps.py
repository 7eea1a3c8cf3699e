from django.apps import AppConfig


class OpenIntentSiteConfig(AppConfig):
    name = "openintent_site"
    verbose_name = "Access"

    def ready(self):
        from . import schema  # noqa: F401  registers the API key scheme with drf-spectacular
