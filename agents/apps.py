from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"

    def ready(self):
        # Imported once the models are loaded, which is after this module is.
        from intents.leases.services import GRANT_CHECKS
        from openintent_site.events import event_committed

        from .registry import services as registry

        # The intents app may not import this one, so the registry hooks itself into the lease grants and the log.
        if registry.refuse_leaving_agents not in GRANT_CHECKS:
            GRANT_CHECKS.append(registry.refuse_leaving_agents)
        event_committed.connect(registry.on_event_committed, dispatch_uid="agents.registry.drains")
