from django.core.management.base import BaseCommand, CommandError

from openintent_site.models import ApiKey, hash_key


class Command(BaseCommand):
    help = (
        "Revoke API keys, given the key itself, or every active key of an agent or user. Revoked keys are kept for the "
        "audit and refused at once. Exits non-zero when no active key matched."
    )

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--key", help="The raw key.")
        target.add_argument("--agent", help="Revoke every key of this agent id.")
        target.add_argument("--user", help="Revoke every key of this username.")

    def handle(self, *args, key, agent, user, **options):
        # An empty agent id would match every user's key (theirs is empty), so an empty value is refused.
        for option, value in (("--key", key), ("--agent", agent), ("--user", user)):
            if value is not None and not value.strip():
                raise CommandError(f"{option} is empty.")
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
