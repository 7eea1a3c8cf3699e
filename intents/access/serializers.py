"""The wire shapes of access control (RFC-0011)."""

from rest_framework import serializers

from openintent_site.api import IGNORED, TimestampField, json_size, long_text

from .models import AccessRequest, ACLEntry, Permission, Policy, PrincipalType


class ACLEntrySerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True)
    # Given by the granter, so of any year.
    expires_at = TimestampField(read_only=True, allow_null=True)

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


class ACLEntryInputSerializer(serializers.Serializer):
    principal_id = serializers.CharField(max_length=200)
    principal_type = serializers.ChoiceField(choices=PrincipalType.choices, default=PrincipalType.AGENT)
    permission = serializers.ChoiceField(choices=Permission.choices, default=Permission.READ)
    reason = long_text(allow_null=True, allow_blank=True, default=None)
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
    reason = long_text(allow_blank=True, default="")
    capabilities = serializers.ListField(child=serializers.CharField(), default=list, validators=[json_size])


class AccessDecisionSerializer(serializers.Serializer):
    permission = serializers.ChoiceField(choices=Permission.choices, allow_null=True, default=None)
    expires_at = serializers.DateTimeField(allow_null=True, default=None)
    reason = long_text(allow_null=True, allow_blank=True, default=None)
    decided_by = serializers.CharField(required=False, allow_null=True, help_text=IGNORED)
