"""The filters of the portfolio list, as a django-filter FilterSet (invalid values are 422 naming the field)."""

import django_filters

from openintent_site.api import ChoiceFilter, FilterSet

from .models import Portfolio, PortfolioStatus


class PortfolioFilter(FilterSet):
    created_by = django_filters.CharFilter(label="Exact match; empty: no filter.")
    status = ChoiceFilter(choices=PortfolioStatus.choices)

    class Meta:
        model = Portfolio
        fields = []
