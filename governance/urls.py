from django.urls import path

from . import api
from .coordinators import api as coordinators

urlpatterns = [
    path("intents/<str:intent_id>/arbitrate", api.ArbitrateView.as_view()),
    path("intents/<str:intent_id>/arbitrations", api.ArbitrationListView.as_view()),
    path("intents/<str:intent_id>/decisions", api.DecisionListView.as_view()),
    # RFC-0013 coordinators
    path("coordinators", coordinators.LeaseCreateView.as_view()),
    path("coordinators/<str:lease_id>", coordinators.LeaseDetailView.as_view()),
    path("coordinators/<str:lease_id>/heartbeat", coordinators.HeartbeatView.as_view()),
    path("coordinators/<str:lease_id>/handoff", coordinators.handoff_view),
    path("coordinators/<str:lease_id>/release", coordinators.release_view),
    path("coordinators/<str:lease_id>/pause", coordinators.pause_view),
    path("coordinators/<str:lease_id>/resume", coordinators.resume_view),
    path("coordinators/<str:lease_id>/replace", coordinators.replace_view),
    path("coordinators/<str:lease_id>/guardrails", coordinators.GuardrailsView.as_view()),
    path("coordinators/<str:lease_id>/guardrails/status", coordinators.GuardrailStatusView.as_view()),
    path("intents/<str:intent_id>/coordinators", coordinators.IntentLeasesView.as_view()),
    path("intents/<str:intent_id>/coordinator-decisions", coordinators.IntentDecisionRecordsView.as_view()),
    path("plans/<str:plan_id>/approve", coordinators.approve_plan_view),
    path("plans/<str:plan_id>/reject", coordinators.reject_plan_view),
    path("decisions", coordinators.DecisionRecordCreateView.as_view()),
    path("decisions/<str:record_id>", coordinators.DecisionRecordDetailView.as_view()),
]
