"""The wire shapes of arbitration requests and decisions (RFC-0004)."""

from rest_framework import serializers

from openintent_site.api import IGNORED, json_size, long_text

from .models import ArbitrationRequest, Decision


class ArbitrationSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True)
    requester_id = serializers.CharField(source="requested_by", read_only=True)
    resolution = serializers.SerializerMethodField()

    class Meta:
        model = ArbitrationRequest
        fields = [
            "id",
            "intent_id",
            "requester_id",
            "requested_by",
            "reason",
            "context",
            "options",
            "status",
            "resolution",
            "created_at",
        ]

    def get_resolution(self, arbitration) -> dict | None:
        decision = getattr(arbitration, "decision", None) if arbitration.status == "resolved" else None
        if decision is None:
            return None
        return {"decision_id": str(decision.pk), "outcome": decision.outcome, "decided_by": decision.decided_by}


class DecisionSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True)
    decision_id = serializers.CharField(source="id", read_only=True)
    decision_maker_id = serializers.CharField(source="decided_by", read_only=True)
    reasoning = serializers.CharField(source="rationale", read_only=True)
    arbitration_id = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = Decision
        fields = [
            "id",
            "decision_id",
            "intent_id",
            "decision_type",
            "outcome",
            "reasoning",
            "rationale",
            "decision_maker_id",
            "decided_by",
            "evidence",
            "arbitration_id",
            "created_at",
        ]


class ArbitrateSerializer(serializers.Serializer):
    reason = long_text()
    context = serializers.DictField(default=dict, validators=[json_size])
    options = serializers.ListField(child=serializers.DictField(), default=list, validators=[json_size])
    requested_by = serializers.CharField(required=False, allow_null=True, help_text=IGNORED)


class DecisionCreateSerializer(serializers.Serializer):
    decision_type = serializers.CharField(max_length=100)
    outcome = serializers.CharField(max_length=500)
    rationale = long_text(required=False, allow_blank=True)
    reasoning = long_text(required=False, allow_blank=True, help_text="Alias of rationale.")
    evidence = serializers.ListField(child=serializers.DictField(), default=list, validators=[json_size])
    arbitration_id = serializers.CharField(required=False, help_text="Settle this pending arbitration request.")
    decided_by = serializers.CharField(required=False, allow_null=True, help_text=IGNORED)

    def validate(self, attrs):
        attrs["rationale"] = attrs.get("rationale", attrs.pop("reasoning", ""))
        attrs.pop("reasoning", None)
        attrs.pop("decided_by", None)
        return attrs
