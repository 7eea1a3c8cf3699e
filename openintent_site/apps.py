from django.apps import AppConfig


class OpenIntentSiteConfig(AppConfig):
    name = "openintent_site"
    verbose_name = "Access"
