from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from agents.vaults import crypto, sealed


class Command(BaseCommand):
    help = (
        "Re-seal every sealed value (credential material, webhook secrets) under the newest vault key (the first of "
        "OPENINTENT_VAULT_KEYS). Servers keep working meanwhile: each row is re-sealed on its own, and only if nobody "
        "changed it since it was read. Once it reports nothing left, older keys can be removed from the settings. "
        "--generate prints a new key."
    )

    # Not the vault key check: without a key this command must still print one (--generate), and it says itself
    # what is missing otherwise.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--generate", action="store_true", help="Print a new key and change nothing.")
        parser.add_argument("--batch-size", type=int, default=200, help="Rows read per query (default: 200).")

    def handle(self, *args, generate, batch_size, **options):
        if generate:
            self.stdout.write(crypto.generate_key())
            return
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        try:
            newest = crypto.newest_key_id()
        except crypto.VaultKeyMissing as problem:
            raise CommandError(str(problem)) from None
        broken = 0
        for column in sealed.columns():
            resealed, failed = self.reseal(column, newest, batch_size)
            broken += failed
            left = column.sealed().exclude(**column.under(newest)).count()
            self.stdout.write(
                f"Re-sealed {resealed} {column.noun}(s) under key {newest}; {left} still under another key."
            )
        if broken:
            raise CommandError(f"{broken} value(s) could not be opened with the configured keys")

    def reseal(self, column, newest, batch_size):
        resealed = broken = 0
        last_pk = None
        while True:
            rows = column.sealed().order_by("pk")
            if last_pk is not None:
                rows = rows.filter(pk__gt=last_pk)
            batch = list(rows.values_list("pk", column.field)[:batch_size])
            if not batch:
                return resealed, broken
            last_pk = batch[-1][0]
            for pk, value in batch:
                if crypto.key_id_of_sealed(value) == newest:
                    continue
                try:
                    plaintext = crypto.open_sealed(value, column.associated(pk))
                except (crypto.VaultKeyMissing, crypto.SealBroken) as problem:
                    broken += 1
                    self.stderr.write(f"{column.noun} {pk}: {problem}")
                    continue
                with transaction.atomic():
                    # Conditional: a write through the API since the read has sealed a new value already.
                    resealed += column.model._default_manager.filter(pk=pk, **{column.field: value}).update(
                        **{column.field: crypto.seal(plaintext, column.associated(pk))}
                    )
