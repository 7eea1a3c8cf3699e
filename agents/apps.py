from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"

    def ready(self):
        # Imported once the models are loaded, which is after this module is.
        from intents.leases.services import GRANT_CHECKS
        from openintent_site import doctor, jobs
        from openintent_site.events import event_committed

        from . import tasks
        from .registry import services as registry
        from .vaults import checks as vault_checks
        from .vaults import sealed
        from .vaults.models import Credential

        # The intents app may not import this one, so the registry hooks itself into the lease grants and the log.
        if registry.refuse_leaving_agents not in GRANT_CHECKS:
            GRANT_CHECKS.append(registry.refuse_leaving_agents)
        event_committed.connect(registry.on_event_committed, dispatch_uid="agents.registry.drains")

        # The periodic jobs beat sends (CELERY_BEAT_SCHEDULE), for `manage.py sweep`.
        jobs.register("sweep-agent-health", tasks.sweep_agent_health, "agents moved by the health sweep")
        jobs.register("expire-memory", tasks.expire_memory, "expired memory entries removed")
        jobs.register("expire-tool-grants", tasks.expire_tool_grants, "tool grants and credentials expired")
        # Credential material is sealed under the vault keys; rotation and the doctor find it here.
        sealed.register("credential", Credential, "sealed_material", str)
        # What `manage.py doctor` checks of the vaults: the keys, and that every sealed credential opens with them.
        doctor.register("vault keys", vault_checks.doctor)
