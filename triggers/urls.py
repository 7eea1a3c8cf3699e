from django.urls import path

from . import api

urlpatterns = [
    path("triggers", api.TriggerListView.as_view()),
    path("triggers/<str:trigger_id>", api.TriggerDetailView.as_view()),
    path("triggers/<str:trigger_id>/fire", api.TriggerFireView.as_view()),
    path("triggers/<str:trigger_id>/history", api.TriggerHistoryView.as_view()),
]
