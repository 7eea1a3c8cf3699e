"""The wire shapes of retry policies and failures (RFC-0010)."""

from rest_framework import serializers

from openintent_site.api import IGNORED, column_integer, json_size, long_text

from .models import Failure, RetryPolicy, RetryStrategy


class RetryPolicySerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True)

    class Meta:
        model = RetryPolicy
        fields = [
            "id",
            "intent_id",
            "strategy",
            "max_retries",
            "base_delay_ms",
            "max_delay_ms",
            "jitter",
            "fallback_agent_id",
            "failure_threshold",
            "created_at",
            "updated_at",
        ]


class RetryPolicyInputSerializer(serializers.Serializer):
    """A full replacement: omitted fields return to their defaults."""

    strategy = serializers.ChoiceField(choices=RetryStrategy.choices)
    max_retries = column_integer(RetryPolicy, "max_retries", min_value=0, max_value=100, default=3)
    base_delay_ms = column_integer(RetryPolicy, "base_delay_ms", min_value=0, max_value=86_400_000, default=1000)
    max_delay_ms = column_integer(RetryPolicy, "max_delay_ms", min_value=0, max_value=86_400_000, default=60000)
    jitter = serializers.BooleanField(default=True)
    fallback_agent_id = serializers.CharField(max_length=200, allow_null=True, default=None)
    failure_threshold = column_integer(RetryPolicy, "failure_threshold", min_value=1, max_value=100, default=3)

    def validate(self, attrs):
        if attrs["max_delay_ms"] < attrs["base_delay_ms"]:
            raise serializers.ValidationError({"max_delay_ms": ["Must be at least base_delay_ms"]})
        return attrs


class FailureSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True)
    error_type = serializers.CharField(source="error_code", read_only=True)
    occurredAt = serializers.DateTimeField(source="occurred_at", read_only=True)  # noqa: N815
    retryScheduledAt = serializers.DateTimeField(source="retry_scheduled_at", read_only=True, allow_null=True)  # noqa: N815

    class Meta:
        model = Failure
        fields = [
            "id",
            "intent_id",
            "agent_id",
            "attempt_number",
            "error_code",
            "error_type",
            "error_message",
            "recoverable",
            "metadata",
            "occurred_at",
            "occurredAt",
            "retry_scheduled_at",
            "retryScheduledAt",
            "retried_at",
            "resolved_at",
        ]


UNKNOWN_ERROR_CODE = "UNKNOWN"


class FailureCreateSerializer(serializers.Serializer):
    error_code = serializers.CharField(
        max_length=100, required=False, allow_null=True, help_text=f"{UNKNOWN_ERROR_CODE} when missing or null."
    )
    error_type = serializers.CharField(
        max_length=100, required=False, allow_null=True, help_text="Alias of error_code."
    )
    error_message = long_text(allow_null=True, allow_blank=True, default=None)
    attempt_number = column_integer(Failure, "attempt_number", min_value=1, allow_null=True, default=None)
    recoverable = serializers.BooleanField(default=True)
    metadata = serializers.DictField(allow_null=True, default=dict, validators=[json_size])
    agent_id = serializers.CharField(required=False, allow_null=True, help_text=IGNORED)
    retry_scheduled_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Ignored: the server schedules retries from the policy."
    )

    def validate(self, attrs):
        # The 0.9.1 sync client's record_failure(intent_id, attempt_number) sends "error_code": null.
        code = attrs.get("error_code") or attrs.get("error_type") or UNKNOWN_ERROR_CODE
        return {
            "error_code": code,
            "error_message": attrs["error_message"],
            "attempt_number": attrs["attempt_number"],
            "recoverable": attrs["recoverable"],
            "metadata": attrs["metadata"] or {},
        }
