from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from . import discovery, errors

PUBLIC = {"authentication_classes": [], "permission_classes": [AllowAny]}

urlpatterns = [
    path(".well-known/openintent.json", discovery.protocol_document),
    path(".well-known/openintent-compat.json", discovery.compatibility_document),
    path("openapi.json", SpectacularJSONAPIView.as_view(**PUBLIC), name="openapi-schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="openapi-schema", **PUBLIC), name="swagger-ui"),
    path("redoc", SpectacularRedocView.as_view(url_name="openapi-schema", **PUBLIC), name="redoc"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("intents.urls")),
    path("api/v1/", include("governance.urls")),
    # Unknown paths answer JSON whatever DEBUG says: clients parse every error body.
    re_path(r"^(?!admin/|static/).*$", errors.json_not_found),
]

handler400 = errors.json_bad_request
handler403 = errors.json_permission_denied
handler404 = errors.json_not_found
handler500 = errors.json_server_error
