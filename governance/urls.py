from django.urls import path

from . import views

urlpatterns = [
    path("intents/<str:intent_id>/arbitrate", views.ArbitrateView.as_view()),
    path("intents/<str:intent_id>/arbitrations", views.ArbitrationListView.as_view()),
    path("intents/<str:intent_id>/decisions", views.DecisionListView.as_view()),
    path("intents/<str:intent_id>/acl", views.ACLView.as_view()),
    path("intents/<str:intent_id>/acl/entries", views.ACLEntryListView.as_view()),
    path("intents/<str:intent_id>/acl/entries/<str:entry_id>", views.ACLEntryDetailView.as_view()),
    path("intents/<str:intent_id>/access-requests", views.AccessRequestListView.as_view()),
    path("intents/<str:intent_id>/access-requests/<str:request_id>/approve", views.AccessRequestApproveView.as_view()),
    path("intents/<str:intent_id>/access-requests/<str:request_id>/deny", views.AccessRequestDenyView.as_view()),
]
