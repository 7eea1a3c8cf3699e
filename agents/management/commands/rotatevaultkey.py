from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from agents.vaults import crypto
from agents.vaults.models import Credential


class Command(BaseCommand):
    help = (
        "Re-seal every credential's material under the newest vault key (the first of OPENINTENT_VAULT_KEYS). "
        "Servers keep working meanwhile: each row is re-sealed on its own, and only if nobody changed it since it was "
        "read. Once it reports nothing left, older keys can be removed from the settings. --generate prints a new key."
    )

    # Not the vault key check: without a key this command must still print one (--generate), and it says itself
    # what is missing otherwise.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--generate", action="store_true", help="Print a new key and change nothing.")
        parser.add_argument("--batch-size", type=int, default=200, help="Credentials read per query (default: 200).")

    def handle(self, *args, generate, batch_size, **options):
        if generate:
            self.stdout.write(crypto.generate_key())
            return
        try:
            newest = crypto.newest_key_id()
        except crypto.VaultKeyMissing as problem:
            raise CommandError(str(problem)) from None
        resealed = broken = 0
        last_pk = None
        while True:
            rows = Credential.objects.exclude(sealed_material="").order_by("pk")
            if last_pk is not None:
                rows = rows.filter(pk__gt=last_pk)
            batch = list(rows.values_list("pk", "sealed_material")[:batch_size])
            if not batch:
                break
            last_pk = batch[-1][0]
            for pk, sealed in batch:
                if crypto.key_id_of_sealed(sealed) == newest:
                    continue
                try:
                    plaintext = crypto.open_sealed(sealed, str(pk))
                except (crypto.VaultKeyMissing, crypto.SealBroken) as problem:
                    broken += 1
                    self.stderr.write(f"credential {pk}: {problem}")
                    continue
                with transaction.atomic():
                    # Conditional: a rotation through the API since the read has sealed new material already.
                    resealed += Credential.objects.filter(pk=pk, sealed_material=sealed).update(
                        sealed_material=crypto.seal(plaintext, str(pk))
                    )
        left = Credential.objects.exclude(sealed_material="").exclude(sealed_material__startswith=f"v1.{newest}.")
        self.stdout.write(
            f"Re-sealed {resealed} credential(s) under key {newest}; {left.count()} still under another key."
        )
        if broken:
            raise CommandError(f"{broken} credential(s) could not be opened with the configured keys")
