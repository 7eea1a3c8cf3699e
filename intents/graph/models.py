"""Dependencies between intents (RFC-0002). Parents are a field of the intent itself."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from intents.core.models import Intent


class IntentDependency(models.Model):
    """``intent`` depends on ``depends_on``. Indexed both ways so dependents cost the same at any size."""

    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="dependency_links")
    depends_on = models.ForeignKey(Intent, on_delete=models.PROTECT, related_name="dependent_links")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["intent", "depends_on"], name="dependency_unique"),
            models.CheckConstraint(name="dependency_not_self", condition=~Q(intent=models.F("depends_on"))),
        ]

    def __str__(self):
        return f"{self.intent_id} depends on {self.depends_on_id}"
