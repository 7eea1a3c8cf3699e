from django.apps import AppConfig


class IntentsConfig(AppConfig):
    name = "intents"

    def ready(self):
        # Imported once the models are loaded, which is after this module is.
        from openintent_site import jobs
        from openintent_site.events import event_committed

        from . import tasks
        from .portfolios import services as portfolios
        from .streams import hub

        # Each hears of an event once the write that appended it has committed.
        event_committed.connect(portfolios.on_event_committed, dispatch_uid="portfolios.auto_complete")
        event_committed.connect(hub.on_event_committed, dispatch_uid="streams.wake")
        event_committed.connect(tasks.on_event_committed, dispatch_uid="intents.jobs")

        # The periodic jobs beat sends (CELERY_BEAT_SCHEDULE), for `manage.py sweep`.
        jobs.register("expire-leases", tasks.expire_leases, "lapsed leases expired")
        jobs.register("expire-grants", tasks.expire_grants, "access grants expired")
        jobs.register("deliver-due-webhooks", tasks.deliver_due_webhooks, "due webhook deliveries queued for a worker")
        jobs.register("fail-overdue-tasks", tasks.fail_overdue_tasks, "tasks failed past their timeout")
        jobs.register("retry-due-tasks", tasks.retry_due_tasks, "failed tasks made ready for their retry")
        jobs.register("time-out-checkpoints", tasks.time_out_checkpoints, "plan checkpoints timed out")
