from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from . import answers, discovery

PUBLIC = {"authentication_classes": [], "permission_classes": [AllowAny]}


class SchemaView(answers.JSONErrorsMixin, SpectacularJSONAPIView):
    pass


class SwaggerView(answers.JSONErrorsMixin, SpectacularSwaggerView):
    pass


class RedocView(answers.JSONErrorsMixin, SpectacularRedocView):
    pass


urlpatterns = [
    path(".well-known/openintent.json", discovery.protocol_document),
    path(".well-known/openintent-compat.json", discovery.compatibility_document),
    path("rfc/<str:number>", discovery.rfc_text),
    path("openapi.json", SchemaView.as_view(**PUBLIC), name="openapi-schema"),
    path("docs", SwaggerView.as_view(url_name="openapi-schema", **PUBLIC), name="swagger-ui"),
    path("redoc", RedocView.as_view(url_name="openapi-schema", **PUBLIC), name="redoc"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("intents.urls")),
    path("api/v1/", include("agents.urls")),
    path("api/v1/", include("governance.urls")),
    path("api/v1/", include("triggers.urls")),
    # RFC-0017 webhook triggers: called by other systems, without an API key (each call is signed instead).
    path("webhooks/", include("triggers.webhook_urls")),
    # Unknown paths answer JSON whatever DEBUG says: clients parse every error body.
    re_path(r"^(?!admin/|static/).*$", answers.json_not_found),
]

handler400 = answers.json_bad_request
handler403 = answers.json_permission_denied
handler404 = answers.json_not_found
handler500 = answers.json_server_error
