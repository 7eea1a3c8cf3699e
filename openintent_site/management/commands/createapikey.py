from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from openintent_site.models import ApiKey, hash_key


class Command(BaseCommand):
    help = "Issue an API key for an agent or a Django user and print it once."

    def add_arguments(self, parser):
        principal = parser.add_mutually_exclusive_group(required=True)
        principal.add_argument("--agent", help="Agent id the key acts as.")
        principal.add_argument("--user", help="Username of the Django user the key acts as.")
        parser.add_argument("--name", default="", help="What the key is for.")
        parser.add_argument("--key", help="Use this key instead of a random one (development set-ups).")
        parser.add_argument(
            "--acts-for",
            default="",
            metavar="AGENTS",
            help="Comma-separated agent ids or patterns (research-*, *) the key may act for with X-Agent-ID.",
        )

    def handle(self, *args, agent, user, name, key, acts_for, **options):
        if key and ApiKey.objects.filter(key_hash=hash_key(key)).exists():
            raise CommandError("That key is already issued.")
        api_key = ApiKey(
            name=name, agent_id=agent or "", acts_for=[item.strip() for item in acts_for.split(",") if item.strip()]
        )
        if user:
            try:
                api_key.user = get_user_model().objects.get_by_natural_key(user)
            except get_user_model().DoesNotExist:
                raise CommandError(f"No user named {user!r}.") from None
        raw_key = api_key.set_key(key)
        api_key.save()
        self.stdout.write(raw_key)
