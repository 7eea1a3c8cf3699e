"""The wire shapes of leases (RFC-0003)."""

from django.conf import settings
from rest_framework import serializers

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
