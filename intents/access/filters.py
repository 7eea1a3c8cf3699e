"""The list filters of the access routes, as django-filter FilterSets (invalid values are 422 naming the field)."""

from openintent_site.api import ChoiceFilter, FilterSet

from .models import AccessRequest, AccessRequestStatus


class AccessRequestFilter(FilterSet):
    status = ChoiceFilter(choices=AccessRequestStatus.choices)

    class Meta:
        model = AccessRequest
        fields = []
