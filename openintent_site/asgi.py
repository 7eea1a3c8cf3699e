import os
from importlib import import_module

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openintent_site.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler, StaticFilesHandler  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

from openintent_site.asgi_send import ExposeSend  # noqa: E402
from openintent_site.startup import prepare_server_process  # noqa: E402
from openintent_site.threaded_http import ThreadedHTTP  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": ThreadedHTTP(
            StaticFilesHandler(get_wsgi_application()),
            ExposeSend(ASGIStaticFilesHandler(django_asgi_app)),
            stream_paths=settings.STREAM_PATHS,
            waiting_paths=settings.WAITING_PATHS,
            releasing_requests=settings.RELEASING_REQUESTS,
            threads=settings.OPENINTENT_HTTP_THREADS,
            waiting_threads=settings.OPENINTENT_HTTP_WAITING_THREADS,
        ),
        "websocket": URLRouter(import_module(settings.WEBSOCKET_URLCONF).websocket_urlpatterns),
    }
)

prepare_server_process()
