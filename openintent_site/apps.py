from django.apps import AppConfig

from .var import prepare_var_dirs


class OpenIntentSiteConfig(AppConfig):
    name = "openintent_site"
    verbose_name = "Access"

    def ready(self):
        # The folders under OPENINTENT_VAR_DIR (SQLite, the embedded broker, beat's schedule) exist before any
        # process uses them, whatever the set-up; settings themselves create nothing.
        prepare_var_dirs()
