from django.apps import AppConfig


class IntentsConfig(AppConfig):
    name = "intents"

    def ready(self):
        from . import hub, portfolios
        from .signals import event_committed

        event_committed.connect(portfolios.on_event_committed, dispatch_uid="portfolios.auto_complete")
        event_committed.connect(hub.on_event_committed, dispatch_uid="streams.wake")
