from django.apps import AppConfig


class IntentsConfig(AppConfig):
    name = "intents"

    def ready(self):
        from . import portfolios
        from .signals import event_committed

        event_committed.connect(portfolios.on_event_committed, dispatch_uid="portfolios.auto_complete")
