from rest_framework import serializers

from .models import AccessRequest, ACLEntry, ArbitrationRequest, Decision, Permission, Policy, PrincipalType

# Output -------------------------------------------------------------------------------------------------------


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


class ACLEntrySerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True)

    class Meta:
        model = ACLEntry
        fields = [
            "id",
            "intent_id",
            "principal_id",
            "principal_type",
            "permission",
            "granted_by",
            "granted_at",
            "expires_at",
            "reason",
        ]


class ACLSerializer(serializers.Serializer):
    intent_id = serializers.CharField()
    default_policy = serializers.CharField()
    entries = ACLEntrySerializer(many=True)


class AccessRequestSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True)

    class Meta:
        model = AccessRequest
        fields = [
            "id",
            "intent_id",
            "principal_id",
            "principal_type",
            "requested_permission",
            "reason",
            "status",
            "capabilities",
            "decided_by",
            "decided_at",
            "decision_reason",
            "created_at",
        ]


# Input --------------------------------------------------------------------------------------------------------

IGNORED = "Accepted for compatibility; the caller's principal is recorded."


class ArbitrateSerializer(serializers.Serializer):
    reason = serializers.CharField()
    context = serializers.DictField(default=dict)
    options = serializers.ListField(child=serializers.DictField(), default=list)
    requested_by = serializers.CharField(required=False, allow_null=True, help_text=IGNORED)


class DecisionCreateSerializer(serializers.Serializer):
    decision_type = serializers.CharField(max_length=100)
    outcome = serializers.CharField(max_length=500)
    rationale = serializers.CharField(required=False, allow_blank=True)
    reasoning = serializers.CharField(required=False, allow_blank=True, help_text="Alias of rationale.")
    evidence = serializers.ListField(child=serializers.DictField(), default=list)
    arbitration_id = serializers.CharField(required=False, help_text="Settle this pending arbitration request.")
    decided_by = serializers.CharField(required=False, allow_null=True, help_text=IGNORED)

    def validate(self, attrs):
        attrs["rationale"] = attrs.get("rationale", attrs.pop("reasoning", ""))
        attrs.pop("reasoning", None)
        attrs.pop("decided_by", None)
        return attrs


class ACLEntryInputSerializer(serializers.Serializer):
    principal_id = serializers.CharField(max_length=200)
    principal_type = serializers.ChoiceField(choices=PrincipalType.choices, default=PrincipalType.AGENT)
    permission = serializers.ChoiceField(choices=Permission.choices, default=Permission.READ)
    reason = serializers.CharField(allow_null=True, allow_blank=True, default=None)
    expires_at = serializers.DateTimeField(allow_null=True, default=None)


class ACLSetSerializer(serializers.Serializer):
    default_policy = serializers.ChoiceField(choices=Policy.values, default=Policy.OPEN)
    entries = ACLEntryInputSerializer(many=True, default=list)

    def validate_entries(self, entries):
        principals = [entry["principal_id"] for entry in entries]
        if len(principals) != len(set(principals)):
            raise serializers.ValidationError("Each principal may appear once")
        return entries


class AccessRequestCreateSerializer(serializers.Serializer):
    principal_id = serializers.CharField(required=False, allow_null=True, help_text=IGNORED)
    principal_type = serializers.ChoiceField(choices=PrincipalType.choices, default=PrincipalType.AGENT)
    requested_permission = serializers.ChoiceField(choices=Permission.choices, default=Permission.WRITE)
    reason = serializers.CharField(allow_blank=True, default="")
    capabilities = serializers.ListField(child=serializers.CharField(), default=list)


class AccessDecisionSerializer(serializers.Serializer):
    permission = serializers.ChoiceField(choices=Permission.choices, allow_null=True, default=None)
    expires_at = serializers.DateTimeField(allow_null=True, default=None)
    reason = serializers.CharField(allow_null=True, allow_blank=True, default=None)
    decided_by = serializers.CharField(required=False, allow_null=True, help_text=IGNORED)


class AccessRequestListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["pending", "approved", "denied"], required=False)
