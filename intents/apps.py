from django.apps import AppConfig


class IntentsConfig(AppConfig):
    name = "intents"

    def ready(self):
        # Imported once the models are loaded, which is after this module is.
        from openintent_site.events import event_committed

        from . import tasks
        from .portfolios import services as portfolios
        from .streams import hub

        # Each hears of an event once the write that appended it has committed.
        event_committed.connect(portfolios.on_event_committed, dispatch_uid="portfolios.auto_complete")
        event_committed.connect(hub.on_event_committed, dispatch_uid="streams.wake")
        event_committed.connect(tasks.on_event_committed, dispatch_uid="intents.jobs")
