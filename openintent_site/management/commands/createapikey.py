from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from openintent_site.admin import AgentListField
from openintent_site.auth import MAX_AGENT_ID
from openintent_site.models import ApiKey, hash_key


class Command(BaseCommand):
    help = (
        "Issue an API key for an agent or a Django user and print it once (only its hash is stored). Exits non-zero, "
        "issuing nothing, when the user does not exist, the key is already issued or an argument is malformed."
    )

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
        if agent is not None:
            agent = agent.strip()
            if not agent or len(agent) > MAX_AGENT_ID or not agent.isprintable() or any(c.isspace() for c in agent):
                raise CommandError(f"--agent takes an agent id: 1 to {MAX_AGENT_ID} printable characters, no spaces.")
        if key is not None and not key.strip():
            raise CommandError("--key is empty: leave it out for a random key.")
        try:
            # The admin's own field, so that a key issued here may act for exactly what the admin would accept.
            acts_for = AgentListField(required=False).clean(acts_for)
        except ValidationError as error:
            raise CommandError(f"--acts-for: {' '.join(error.messages)}") from None
        if key and ApiKey.objects.filter(key_hash=hash_key(key)).exists():
            raise CommandError("That key is already issued.")
        api_key = ApiKey(name=name, agent_id=agent or "", acts_for=acts_for)
        if user:
            try:
                api_key.user = get_user_model().objects.get_by_natural_key(user)
            except get_user_model().DoesNotExist:
                raise CommandError(f"No user named {user!r}.") from None
        raw_key = api_key.set_key(key)
        api_key.save()
        self.stdout.write(raw_key)
