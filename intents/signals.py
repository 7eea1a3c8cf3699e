"""Signals other parts of the project hang off; the intent log is the source of truth, these only announce it."""

from django.dispatch import Signal

# Sent once per appended event, after the transaction that wrote it has committed (never for a rolled-back
# write), with ``event``: the IntentEvent. Streams wake their subscribers on it and webhooks queue deliveries.
event_committed = Signal()
