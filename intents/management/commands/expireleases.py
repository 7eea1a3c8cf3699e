from django.core.management.base import BaseCommand

from intents.leases.services import expire_lapsed_leases


class Command(BaseCommand):
    help = "Expire every lease whose time has run out now, as the periodic job does."

    def handle(self, *args, **options):
        self.stdout.write(f"Expired {expire_lapsed_leases()} lease(s).")
