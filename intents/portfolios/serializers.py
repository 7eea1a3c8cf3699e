"""The wire shapes of portfolios (RFC-0007): the RFC's snake case, and the camelCase the 0.9.1 client reads."""

from rest_framework import serializers

from openintent_site.api import column_integer, json_size, long_text

from .models import MembershipRole, PortfolioMembership, PortfolioStatus


class PortfolioSerializer(serializers.Serializer):
    """A portfolio as every route returns it. Timestamps also in camelCase, the only spelling the 0.9.1 client
    reads; ``aggregate_status`` when the view computed it."""

    id = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    created_by = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    governance_policy = serializers.JSONField(read_only=True)
    metadata = serializers.JSONField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)  # noqa: N815
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)  # noqa: N815
    aggregate_status = serializers.SerializerMethodField()

    def get_aggregate_status(self, portfolio) -> dict:
        aggregates = self.context.get("aggregates", {})
        return aggregates.get(portfolio.pk, {"total": 0, "by_status": {}, "completion_percentage": 0})


class MembershipSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    membership_id = serializers.CharField(source="id", read_only=True)
    portfolio_id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True)
    role = serializers.CharField(read_only=True)
    priority = serializers.IntegerField(read_only=True)
    added_by = serializers.CharField(read_only=True)
    added_at = serializers.DateTimeField(read_only=True)
    addedAt = serializers.DateTimeField(source="added_at", read_only=True)  # noqa: N815


class GovernancePolicyField(serializers.DictField):
    """An object; the keys the server acts on are checked, any others are kept as given."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.append(json_size)

    def to_internal_value(self, data):
        policy = super().to_internal_value(data)
        errors = {}
        for key in ("require_all_completed", "allow_partial_completion"):
            if key in policy and not isinstance(policy[key], bool):
                errors[key] = ["Must be true or false"]
        threshold = policy.get("auto_complete_threshold")
        if "auto_complete_threshold" in policy and (
            isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold <= 100
        ):
            errors["auto_complete_threshold"] = ["Must be a number above 0 and at most 100 (a completion percentage)"]
        if "shared_constraints" in policy and not isinstance(policy["shared_constraints"], dict):
            errors["shared_constraints"] = ["Must be an object"]
        if errors:
            raise serializers.ValidationError(errors)
        return policy


class PortfolioCreateSerializer(serializers.Serializer):
    """Snake case as the RFC writes it, and the camelCase the 0.9.1 client sends (``createdBy``,
    ``governancePolicy``); ``description: null`` is the client's way of giving none."""

    name = serializers.CharField(max_length=255)
    description = long_text(allow_blank=True, allow_null=True, default="", trim_whitespace=False)
    created_by = serializers.CharField(max_length=255, required=False, allow_null=True)
    createdBy = serializers.CharField(max_length=255, required=False, allow_null=True)  # noqa: N815
    governance_policy = GovernancePolicyField(required=False, allow_null=True)
    governancePolicy = GovernancePolicyField(required=False, allow_null=True)  # noqa: N815
    metadata = serializers.DictField(allow_null=True, default=dict, validators=[json_size])

    def validate(self, attrs):
        return {
            "name": attrs["name"],
            "description": attrs["description"] or "",
            "created_by": attrs.get("created_by") or attrs.get("createdBy"),
            "governance_policy": attrs.get("governance_policy") or attrs.get("governancePolicy") or {},
            "metadata": attrs["metadata"] or {},
        }


class PortfolioUpdateSerializer(serializers.Serializer):
    """RFC-0007's metadata update: only the fields given change."""

    name = serializers.CharField(max_length=255, required=False)
    description = long_text(allow_blank=True, required=False, trim_whitespace=False)
    governance_policy = GovernancePolicyField(required=False)
    governancePolicy = GovernancePolicyField(required=False)  # noqa: N815
    metadata = serializers.DictField(required=False, validators=[json_size])

    def validate(self, attrs):
        if "governancePolicy" in attrs:
            attrs.setdefault("governance_policy", attrs.pop("governancePolicy"))
            attrs.pop("governancePolicy", None)
        return attrs


class PortfolioStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=PortfolioStatus.choices)


class MembershipCreateSerializer(serializers.Serializer):
    intent_id = serializers.CharField()
    role = serializers.ChoiceField(choices=MembershipRole.choices, default=MembershipRole.MEMBER)
    priority = column_integer(PortfolioMembership, "priority", default=0)
