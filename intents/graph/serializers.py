"""Input of the graph routes (RFC-0002); the intents themselves travel as ``IntentSerializer`` writes them."""

from rest_framework import serializers


class DependencySerializer(serializers.Serializer):
    dependency_id = serializers.CharField()
