"""The filters of the subscription list, as a django-filter FilterSet."""

import django_filters

from intents.core.services import as_uuid
from openintent_site.api import FilterSet

from .models import Subscription


class SubscriptionFilter(FilterSet):
    intent_id = django_filters.CharFilter(method="by_id")
    portfolio_id = django_filters.CharFilter(method="by_id")

    class Meta:
        model = Subscription
        fields = []

    def by_id(self, queryset, name, value):
        # An id that is no UUID names nothing, so nothing is subscribed to it (not: every subscription).
        pk = as_uuid(value)
        return queryset.filter(**{name: pk}) if pk else queryset.none()
