from django.urls import path

from .access import api as access
from .attachments import api as attachments
from .core import api as core
from .costs import api as costs
from .graph import api as graph
from .leases import api as leases
from .plans import api as plans
from .portfolios import api as portfolios
from .retries import api as retries
from .streams.views import event_stream_view
from .subscriptions import api as subscriptions

urlpatterns = [
    path("intents", core.IntentListView.as_view()),
    path("intents/<str:intent_id>", core.IntentDetailView.as_view()),
    path("intents/<str:intent_id>/state", core.StateView.as_view()),
    path("intents/<str:intent_id>/status", core.StatusView.as_view()),
    path("intents/<str:intent_id>/events", core.EventListView.as_view()),
    path("intents/<str:intent_id>/agents", core.AgentListView.as_view()),
    path("intents/<str:intent_id>/agents/<str:agent_id>", core.AgentDetailView.as_view()),
    path("intents/<str:intent_id>/children", graph.ChildrenView.as_view()),
    path("intents/<str:intent_id>/descendants", graph.DescendantsView.as_view()),
    path("intents/<str:intent_id>/ancestors", graph.AncestorsView.as_view()),
    path("intents/<str:intent_id>/dependencies", graph.DependenciesView.as_view()),
    path("intents/<str:intent_id>/dependencies/<str:dependency_id>", graph.DependencyDetailView.as_view()),
    path("intents/<str:intent_id>/dependents", graph.DependentsView.as_view()),
    path("intents/<str:intent_id>/ready", graph.ReadyView.as_view()),
    path("intents/<str:intent_id>/blocked", graph.BlockedView.as_view()),
    path("intents/<str:intent_id>/graph", graph.GraphView.as_view()),
    path("intents/<str:intent_id>/leases", leases.LeaseListView.as_view()),
    path("intents/<str:intent_id>/leases/<str:lease_id>", leases.LeaseDetailView.as_view()),
    path("intents/<str:intent_id>/attachments", attachments.AttachmentListView.as_view()),
    path("intents/<str:intent_id>/attachments/<str:attachment_id>", attachments.AttachmentDetailView.as_view()),
    path(
        "intents/<str:intent_id>/attachments/<str:attachment_id>/content", attachments.AttachmentContentView.as_view()
    ),
    path("intents/<str:intent_id>/costs", costs.CostListView.as_view()),
    path("intents/<str:intent_id>/retry-policy", retries.RetryPolicyView.as_view()),
    path("intents/<str:intent_id>/failures", retries.FailureListView.as_view()),
    path("intents/<str:intent_id>/acl", access.ACLView.as_view()),
    path("intents/<str:intent_id>/acl/entries", access.ACLEntryListView.as_view()),
    path("intents/<str:intent_id>/acl/entries/<str:entry_id>", access.ACLEntryDetailView.as_view()),
    path("intents/<str:intent_id>/access-requests", access.AccessRequestListView.as_view()),
    path("intents/<str:intent_id>/access-requests/<str:request_id>/approve", access.AccessRequestApproveView.as_view()),
    path("intents/<str:intent_id>/access-requests/<str:request_id>/deny", access.AccessRequestDenyView.as_view()),
    path("intents/<str:intent_id>/portfolios", portfolios.IntentPortfoliosView.as_view()),
    path("portfolios", portfolios.PortfolioListView.as_view()),
    path("portfolios/<str:portfolio_id>", portfolios.PortfolioDetailView.as_view()),
    path("portfolios/<str:portfolio_id>/status", portfolios.PortfolioStatusView.as_view()),
    path("portfolios/<str:portfolio_id>/intents", portfolios.PortfolioIntentsView.as_view()),
    path("portfolios/<str:portfolio_id>/intents/<str:intent_id>", portfolios.PortfolioIntentDetailView.as_view()),
    path("intents/<str:intent_id>/tasks", plans.IntentTasksView.as_view()),
    path("intents/<str:intent_id>/plans", plans.IntentPlansView.as_view()),
    path("intents/<str:intent_id>/plan", plans.IntentPlanView.as_view()),
    path("tasks", plans.TaskCreateView.as_view()),
    path("tasks/<str:task_id>", plans.TaskDetailView.as_view()),
    path("tasks/<str:task_id>/claim", plans.claim_view),
    path("tasks/<str:task_id>/start", plans.start_view),
    path("tasks/<str:task_id>/progress", plans.progress_view),
    path("tasks/<str:task_id>/complete", plans.complete_view),
    path("tasks/<str:task_id>/fail", plans.fail_view),
    path("tasks/<str:task_id>/delegate", plans.delegate_view),
    path("tasks/<str:task_id>/escalate", plans.escalate_view),
    path("tasks/<str:task_id>/resolve", plans.resolve_view),
    path("tasks/<str:task_id>/cancel", plans.cancel_view),
    path("plans", plans.PlanCreateView.as_view()),
    path("plans/<str:plan_id>", plans.PlanDetailView.as_view()),
    path("plans/<str:plan_id>/activate", plans.activate_view),
    path("plans/<str:plan_id>/pause", plans.pause_view),
    path("plans/<str:plan_id>/resume", plans.resume_view),
    path("plans/<str:plan_id>/cancel", plans.cancel_plan_view),
    path("plans/<str:plan_id>/checkpoints", plans.PlanCheckpointsView.as_view()),
    path("plans/<str:plan_id>/costs", plans.PlanCostsView.as_view()),
    path("checkpoints/<str:checkpoint_id>/approve", plans.approve_view),
    path("checkpoints/<str:checkpoint_id>/reject", plans.reject_view),
    # Live streams at the paths the 0.9.1 client uses, and at those its server served.
    path("intents/<str:key>/subscribe", event_stream_view("intent")),
    path("agents/<str:key>/subscribe", event_stream_view("agent")),
    path("portfolios/<str:key>/subscribe", event_stream_view("portfolio")),
    path("subscribe/intents/<str:key>", event_stream_view("intent")),
    path("subscribe/agents/<str:key>", event_stream_view("agent")),
    path("subscribe/portfolios/<str:key>", event_stream_view("portfolio")),
    path("subscriptions", subscriptions.SubscriptionListView.as_view()),
    path("subscriptions/<str:subscription_id>", subscriptions.SubscriptionDetailView.as_view()),
]
