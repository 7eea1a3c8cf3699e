"""WSGI entry point: the plain-HTTP API served by a pool of worker processes (see README, Deployment).

Streams (SSE and websockets) need the ASGI application in asgi.py; everything else is served here at a
fraction of the per-request cost of Django's ASGI handler, which runs each sync view in a thread of its own.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openintent_site.settings")
application = get_wsgi_application()

from openintent_site.startup import prepare_server_process  # noqa: E402

prepare_server_process()
