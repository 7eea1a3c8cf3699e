from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from openintent_site.models import ApiKey, hash_key

DEVELOPMENT_KEYS = [
    ("dev-user-key", {"user": "dev-user"}),
    ("agent-research-key", {"agent_id": "agent-research"}),
    ("agent-synth-key", {"agent_id": "agent-synth"}),
]


class Command(BaseCommand):
    help = (
        "Seed the development API keys and an admin login (admin / admin). For local set-ups only: the keys may act "
        "for any agent (X-Agent-ID), as every key of the 0.9.1 server does."
    )

    def handle(self, *args, **options):
        users = get_user_model()
        if not users.objects.filter(username="admin").exists():
            users.objects.create_superuser("admin", "admin@localhost", "admin")
            self.stdout.write("Created superuser admin (password: admin).")
        for raw_key, principal in DEVELOPMENT_KEYS:
            # Keys seeded before keys could act for agents are brought up to date.
            if ApiKey.objects.filter(key_hash=hash_key(raw_key)).update(acts_for=["*"]):
                continue
            api_key = ApiKey(name="development key", acts_for=["*"])
            if "user" in principal:
                api_key.user, _ = users.objects.get_or_create(username=principal["user"])
            else:
                api_key.agent_id = principal["agent_id"]
            api_key.set_key(raw_key)
            api_key.save()
            self.stdout.write(f"Seeded {raw_key} for {api_key.principal_id}.")
