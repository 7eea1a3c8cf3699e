"""The webhook receiver's one route, mounted at /webhooks/ outside /api/v1 (openintent_site/urls.py)."""

from django.urls import path

from . import api

urlpatterns = [path("<path:path>", api.receive_webhook)]
