from django.urls import path

from . import views

urlpatterns = [
    path("intents", views.IntentListView.as_view()),
    path("intents/<str:intent_id>", views.IntentDetailView.as_view()),
    path("intents/<str:intent_id>/state", views.StateView.as_view()),
    path("intents/<str:intent_id>/status", views.StatusView.as_view()),
    path("intents/<str:intent_id>/events", views.EventListView.as_view()),
    path("intents/<str:intent_id>/agents", views.AgentListView.as_view()),
    path("intents/<str:intent_id>/agents/<str:agent_id>", views.AgentDetailView.as_view()),
    path("intents/<str:intent_id>/children", views.ChildrenView.as_view()),
    path("intents/<str:intent_id>/descendants", views.DescendantsView.as_view()),
    path("intents/<str:intent_id>/ancestors", views.AncestorsView.as_view()),
    path("intents/<str:intent_id>/dependencies", views.DependenciesView.as_view()),
    path("intents/<str:intent_id>/dependencies/<str:dependency_id>", views.DependencyDetailView.as_view()),
    path("intents/<str:intent_id>/dependents", views.DependentsView.as_view()),
    path("intents/<str:intent_id>/ready", views.ReadyView.as_view()),
    path("intents/<str:intent_id>/blocked", views.BlockedView.as_view()),
    path("intents/<str:intent_id>/graph", views.GraphView.as_view()),
    path("intents/<str:intent_id>/leases", views.LeaseListView.as_view()),
    path("intents/<str:intent_id>/leases/<str:lease_id>", views.LeaseDetailView.as_view()),
    path("intents/<str:intent_id>/attachments", views.AttachmentListView.as_view()),
    path("intents/<str:intent_id>/attachments/<str:attachment_id>", views.AttachmentDetailView.as_view()),
    path("intents/<str:intent_id>/attachments/<str:attachment_id>/content", views.AttachmentContentView.as_view()),
    path("intents/<str:intent_id>/costs", views.CostListView.as_view()),
    path("intents/<str:intent_id>/retry-policy", views.RetryPolicyView.as_view()),
    path("intents/<str:intent_id>/failures", views.FailureListView.as_view()),
]
