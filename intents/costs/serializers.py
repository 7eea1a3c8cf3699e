"""The wire shapes of costs (RFC-0009)."""

from rest_framework import serializers

from openintent_site.api import IGNORED, column_decimal, json_size

from .models import Cost, CostType


class CostSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True)
    amount = serializers.FloatField(read_only=True)
    cost_metadata = serializers.JSONField(source="metadata", read_only=True)
    recordedAt = serializers.DateTimeField(source="recorded_at", read_only=True)  # noqa: N815

    class Meta:
        model = Cost
        fields = [
            "id",
            "intent_id",
            "agent_id",
            "cost_type",
            "amount",
            "unit",
            "provider",
            "metadata",
            "cost_metadata",
            "recorded_at",
            "recordedAt",
        ]


class CostCreateSerializer(serializers.Serializer):
    cost_type = serializers.ChoiceField(choices=CostType.choices)
    amount = column_decimal(Cost, "amount", min_value=0)
    unit = serializers.CharField(max_length=50)
    provider = serializers.CharField(max_length=100, allow_null=True, default=None)
    metadata = serializers.DictField(required=False, validators=[json_size])
    cost_metadata = serializers.DictField(required=False, validators=[json_size], help_text="Alias of metadata.")
    agent_id = serializers.CharField(required=False, allow_null=True, help_text=IGNORED)

    def validate(self, attrs):
        attrs["metadata"] = attrs.get("metadata", attrs.pop("cost_metadata", {}))
        attrs.pop("cost_metadata", None)
        attrs.pop("agent_id", None)
        return attrs
