from django.core.management.base import BaseCommand, CommandError

from openintent_site.models import ApiKey, hash_key


class Command(BaseCommand):
    help = "Revoke API keys, given the key itself, or every key of an agent or user."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--key", help="The raw key.")
        target.add_argument("--agent", help="Revoke every key of this agent id.")
        target.add_argument("--user", help="Revoke every key of this username.")

    def handle(self, *args, key, agent, user, **options):
        keys = ApiKey.objects.active()
        if key:
            keys = keys.filter(key_hash=hash_key(key))
        elif agent:
            keys = keys.filter(agent_id=agent)
        else:
            keys = keys.filter(user__username=user)
        revoked = 0
        for api_key in keys:
            api_key.revoke()
            revoked += 1
        if not revoked:
            raise CommandError("No active key matched.")
        self.stdout.write(f"Revoked {revoked} key(s).")
