from django.urls import path

from . import consumers

websocket_urlpatterns = [
    path("ws/intents/<str:key>", consumers.IntentStreamConsumer.as_asgi()),
    path("ws/agents/<str:key>", consumers.AgentStreamConsumer.as_asgi()),
    path("ws/portfolios/<str:key>", consumers.PortfolioStreamConsumer.as_asgi()),
]
