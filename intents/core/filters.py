"""The list filters of the intent routes, as django-filter FilterSets (invalid values are 422 naming the field)."""

import django_filters

from openintent_site.api import ChoiceFilter, FilterSet
from openintent_site.models import IntentEvent

from .models import Intent, IntentPriority, IntentStatus
from .services import as_uuid


class IntentFilter(FilterSet):
    status = ChoiceFilter(choices=IntentStatus.choices)
    created_by = django_filters.CharFilter()
    parent_id = django_filters.CharFilter(method="children_of", label="Only the children of this intent.")
    type = django_filters.CharFilter()
    namespace = django_filters.CharFilter()
    priority = ChoiceFilter(choices=IntentPriority.choices)
    trigger_id = django_filters.CharFilter(
        field_name="trigger_lineage__trigger_id", label="Only intents this trigger created (RFC-0017 lineage)."
    )
    q = django_filters.CharFilter(
        field_name="title", lookup_expr="icontains", label="Case-insensitive search in titles."
    )

    class Meta:
        model = Intent
        fields = []

    def children_of(self, queryset, name, value):
        # An id that is no UUID names no intent, so it has no children (not: every top-level intent).
        parent_pk = as_uuid(value)
        return queryset.filter(parent_id=parent_pk) if parent_pk else queryset.none()


class EventFilter(FilterSet):
    event_type = django_filters.CharFilter()
    since = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gt", label="Only events created after this time."
    )

    class Meta:
        model = IntentEvent
        fields = []
