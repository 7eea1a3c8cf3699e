from django.urls import path

from . import api

urlpatterns = [
    path("intents/<str:intent_id>/arbitrate", api.ArbitrateView.as_view()),
    path("intents/<str:intent_id>/arbitrations", api.ArbitrationListView.as_view()),
    path("intents/<str:intent_id>/decisions", api.DecisionListView.as_view()),
]
