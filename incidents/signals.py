"""Signals the incident services send, so that other parts (the communication cadence) can follow
without being called from the services."""

from django.dispatch import Signal

# Sent after the transaction that changed an incident's severity commits.
# kwargs: incident_id (int), old (severity name, e.g. "P2"), new (severity name), reason (str),
# at (aware datetime: when the change took effect).
severity_changed = Signal()
