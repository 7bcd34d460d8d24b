from __future__ import annotations

from django.utils import timezone

from incidents.models import Integration
from incidents.models.integrations import new_integration_key


def integration_rotate_key(integration: Integration) -> Integration:
    """A new secret key; the old one stops working at once."""
    integration.key = new_integration_key()
    integration.key_rotated_at = timezone.now()
    integration.save(update_fields=["key", "key_rotated_at"])
    return integration
