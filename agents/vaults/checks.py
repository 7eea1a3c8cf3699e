"""The start-up check of the vault keys: every command that runs Django's checks (``serve``, ``migrate``, ``check``)
refuses to go on without a usable key outside development, and in development makes the key it will use."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from openintent_site.startup import SERVER_START

from . import crypto, sealed


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


def doctor(database_ok):
    """``manage.py doctor``'s look at the vault keys: configured, able to seal and open, and holding the key of every
    sealed value (credentials, webhook secrets: every column registered in ``sealed.py``)."""
    from openintent_site.doctor import ok, problem, skipped

    try:
        newest, keys = crypto.keyring()
        crypto.open_sealed(crypto.seal(b"doctor", "doctor"), "doctor")
    except ImproperlyConfigured:
        # agents.E001 among Django's system checks says what is missing.
        return [skipped("vault keys", "not checked further: no usable vault key (see configuration)")]
    found = [ok("vault keys", f"{len(keys)} key(s), sealing under {newest.key_id}")]
    for column in sealed.columns():
        if not database_ok:
            found.append(skipped(column.plural, "not checked: the database is not usable"))
            continue
        unopenable = column.sealed()
        for key_id in keys:
            unopenable = unopenable.exclude(**column.under(key_id))
        lost = unopenable.count()
        if lost:
            found.append(
                problem(
                    column.plural,
                    f"{lost} {column.noun}(s) are sealed under a key that is not configured, so they cannot be "
                    "used: put that key back in OPENINTENT_VAULT_KEYS (after the newest), or set them again.",
                )
            )
            continue
        older = column.sealed().exclude(**column.under(newest.key_id)).count()
        note = f"; {older} still under an older key (`manage.py rotatevaultkey` re-seals them)" if older else ""
        found.append(
            ok(column.plural, f"{column.sealed().count()} sealed {column.noun}(s) open with the configured keys{note}")
        )
    return found
