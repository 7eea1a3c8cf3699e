"""What a server process does once Django is set up and before it serves its first request."""

import gc

from channels.layers import get_channel_layer
from django.urls import get_resolver


def prepare_server_process():
    """Load now what the first requests would load lazily, then freeze it out of the cyclic garbage collector.

    A full collection walks every object the process holds. Django with its apps holds about 130,000 at startup,
    and walking them took 30 to 110 ms, a pause every few seconds under load, which showed as the long tail of
    stream delivery. Frozen, they are never walked again; a full collection then covers only what came after.
    """
    get_resolver().url_patterns  # noqa: B018  imports the URLconf, and with it every view and serializer
    get_channel_layer()  # imports the channel layer's client library (redis) when one is configured
    gc.collect()
    gc.freeze()
