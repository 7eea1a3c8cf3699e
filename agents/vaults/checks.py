"""The start-up check of the vault keys: every command that runs Django's checks (``serve``, ``migrate``, ``check``)
refuses to go on without a usable key outside development, and in development makes the key it will use."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from openintent_site.startup import SERVER_START

from . import crypto


@checks.register(checks.Tags.security, SERVER_START)
def vault_keys(app_configs=None, **kwargs):
    try:
        crypto.keyring()
    except ImproperlyConfigured as problem:
        return [
            checks.Error(
                str(problem),
                hint="Credential material cannot be sealed or opened without a vault key (README, Vaults).",
                id="agents.E001",
            )
        ]
    return []
