from django.apps import AppConfig


class TriggersConfig(AppConfig):
    name = "triggers"

    def ready(self):
        # Imported once the models are loaded, which is after this module is.
        from agents.vaults import sealed
        from openintent_site import jobs
        from openintent_site.events import event_committed

        from . import services, tasks
        from .models import Trigger

        # Event triggers, the release of queued fires and cascades hear of each event once its write has committed.
        event_committed.connect(tasks.on_event_committed, dispatch_uid="triggers.events")
        jobs.register("fire-due-triggers", tasks.fire_due_triggers, "schedule triggers fired")
        # Webhook secrets are sealed under the vault keys: `manage.py rotatevaultkey` re-seals them with credentials.
        sealed.register("webhook secret", Trigger, "sealed_secret", services.secret_context)
