from django.apps import AppConfig


class TriggersConfig(AppConfig):
    name = "triggers"
    verbose_name = "Scheduled jobs"

    def ready(self):
        from intents.signals import event_committed

        from . import webhooks

        event_committed.connect(webhooks.on_event_committed, dispatch_uid="triggers.webhooks")
