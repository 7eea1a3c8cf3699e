from django.core.management.base import BaseCommand, CommandError

from openintent_site.errors import DomainError
from triggers import services


class Command(BaseCommand):
    help = (
        "Fire a trigger now, as POST /api/v1/triggers/{id}/fire does: its condition is bypassed, its deduplication "
        "is not, and a disabled trigger is refused. Prints the id of the intent created, or why none was. Exits 1 "
        "when the trigger is unknown or disabled, or its template cannot be rendered."
    )

    def add_arguments(self, parser):
        parser.add_argument("trigger_id", help="The trigger's id (trigger_id in the API).")
        parser.add_argument(
            "--actor",
            default="operator",
            help="Who fired it, as recorded in its history and events (default: operator).",
        )

    def handle(self, *args, trigger_id, actor, **options):
        try:
            fired = services.fire_manually(trigger_id, actor)
        except DomainError as error:
            raise CommandError(f"{trigger_id}: {error.message}") from None
        if fired.intent is not None:
            self.stdout.write(f"Fired {fired.trigger.name} ({fired.trigger.pk}): created intent {fired.intent.pk}")
        else:
            self.stdout.write(
                f"Fired {fired.trigger.name} ({fired.trigger.pk}) but created no intent: {fired.record.outcome} "
                f"({fired.record.detail})"
            )
