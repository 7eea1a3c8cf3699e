"""The wire shapes of webhook subscriptions (RFC-0006). The signing secret is written once, at creation."""

from urllib.parse import urlsplit

from rest_framework import serializers


class SubscriptionSerializer(serializers.Serializer):
    """A subscription; timestamps also in camelCase, the spelling the 0.9.1 client reads. Never the secret."""

    id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True, allow_null=True)
    portfolio_id = serializers.CharField(read_only=True, allow_null=True)
    subscriber_id = serializers.CharField(read_only=True)
    event_types = serializers.ListField(child=serializers.CharField(), read_only=True)
    webhook_url = serializers.URLField(read_only=True)
    active = serializers.BooleanField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    expiresAt = serializers.DateTimeField(source="expires_at", read_only=True, allow_null=True)  # noqa: N815
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)  # noqa: N815


class CreatedSubscriptionSerializer(SubscriptionSerializer):
    secret = serializers.CharField(read_only=True, help_text="Signs every delivery; shown only in this response.")


class SubscriptionCreateSerializer(serializers.Serializer):
    webhook_url = serializers.URLField(max_length=2000)
    intent_id = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    portfolio_id = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    subscriber_id = serializers.CharField(max_length=200, required=False, allow_null=True, allow_blank=True)
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=100),
        allow_null=True,
        default=list,
        help_text="Event types to deliver; empty for all.",
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate_webhook_url(self, value):
        if value.split(":", 1)[0].lower() not in ("http", "https"):
            raise serializers.ValidationError("Must be an http or https URL")
        # The resolver wraps a port past 65535 round to another one: the delivery would go elsewhere.
        try:
            port = urlsplit(value).port
        except ValueError:
            port = 0
        if port == 0:
            raise serializers.ValidationError("The port must be between 1 and 65535")
        return value

    def validate_event_types(self, value):
        return list(dict.fromkeys(value or []))
