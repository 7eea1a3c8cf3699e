"""What a server process does once Django is set up and before it serves its first request."""

import gc

from channels.layers import get_channel_layer
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.urls import get_resolver

# The tag of Django checks that must pass before a server process serves (an app registers its own with it): a
# process started without ``manage.py serve`` (which runs every check) refuses to start on them too.
SERVER_START = "server-start"


def refuse_to_serve_if_misconfigured():
    problems = [message for message in checks.run_checks(tags=[SERVER_START]) if message.is_serious()]
    if problems:
        raise ImproperlyConfigured("; ".join(f"{problem.id}: {problem.msg}" for problem in problems))


def prepare_server_process():
    """Load now what the first requests would load lazily, then freeze it out of the cyclic garbage collector.

    A full collection walks every object the process holds. Django with its apps holds about 130,000 at startup,
    and walking them took 30 to 110 ms, a pause every few seconds under load, which showed as the long tail of
    stream delivery. Frozen, they are never walked again; a full collection then covers only what came after.
    """
    refuse_to_serve_if_misconfigured()
    get_resolver().url_patterns  # noqa: B018  imports the URLconf, and with it every view and serializer
    get_channel_layer()  # imports the channel layer's client library (redis) when one is configured
    gc.collect()
    gc.freeze()
