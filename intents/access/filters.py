"""The list filters of the access routes, as django-filter FilterSets (invalid values are 422 naming the field)."""

import django_filters

from openintent_site.api import ChoiceFilter

from .models import AccessRequest, AccessRequestStatus


class AccessRequestFilter(django_filters.FilterSet):
    status = ChoiceFilter(choices=AccessRequestStatus.choices)

    class Meta:
        model = AccessRequest
        fields = []
