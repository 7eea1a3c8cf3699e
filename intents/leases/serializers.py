"""The wire shapes of leases (RFC-0003)."""

from django.conf import settings
from rest_framework import serializers

from openintent_site.api import wire_datetime

from .models import LeaseStatus


class LeaseSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True)
    agent_id = serializers.CharField(source="holder", read_only=True)
    scope = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=LeaseStatus.choices, source="effective_status", read_only=True)
    acquired_at = serializers.DateTimeField(read_only=True)
    created_at = serializers.DateTimeField(source="acquired_at", read_only=True)
    expires_at = serializers.DateTimeField(read_only=True)
    released_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def to_representation(self, lease):
        # Built directly, as IntentSerializer is: every refused acquisition names the lease in force, and DRF's
        # field-by-field walk cost more than the rest of the refusal. tests/intents/test_wire_shapes.py keeps the two
        # equal.
        return {
            "id": str(lease.pk),
            "intent_id": str(lease.intent_id),
            "agent_id": lease.holder,
            "scope": lease.scope,
            "status": str(lease.effective_status),
            "acquired_at": wire_datetime(lease.acquired_at),
            "created_at": wire_datetime(lease.acquired_at),
            "expires_at": wire_datetime(lease.expires_at),
            "released_at": wire_datetime(lease.released_at) if lease.released_at else None,
        }


def lease_duration_field():
    return serializers.IntegerField(min_value=1, max_value=settings.OPENINTENT_MAX_LEASE_SECONDS, default=300)


class LeaseAcquireSerializer(serializers.Serializer):
    scope = serializers.CharField(max_length=200)
    duration_seconds = lease_duration_field()


class LeaseRenewSerializer(serializers.Serializer):
    duration_seconds = lease_duration_field()


class LeaseListQuerySerializer(serializers.Serializer):
    include = serializers.ChoiceField(
        choices=["active", "all"], default="active", help_text="`all` adds released and expired leases."
    )
