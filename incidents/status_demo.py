"""The demo organisation's status page: components for its services (called by incidents/demo.py)."""

from __future__ import annotations

from incidents.models import Service
from incidents.models.status import Component, ComponentGroup, StatusPage
from incidents.services.statuspage import status_config_changed

# (group, component, the demo services behind it, description)
DEMO_COMPONENTS = [
    ("Shopping", "Website", ["Web Storefront"], "Browsing and the basket on acme.example."),
    ("Shopping", "Checkout", ["Checkout API", "Core Database"], "Placing orders."),
    ("Shopping", "Card payments", ["Payment Gateway"], "Cards and wallets."),
    ("Accounts", "Sign-in", ["Identity & Login"], "Signing in, on the web and in the apps."),
    ("Accounts", "App notifications", ["Push Notifications"], "Order and delivery notices."),
]


def seed_status_page(organisation_name: str) -> None:
    """Idempotent: a page that already has components is left alone."""
    if Component.objects.exists():
        return
    page = StatusPage.objects.current()
    page.name = f"{organisation_name} status"
    page.save(update_fields=["name"])
    services = {service.name: service for service in Service.objects.all()}
    groups: dict[str, ComponentGroup] = {}
    for position, (group_name, name, service_names, description) in enumerate(DEMO_COMPONENTS):
        if group_name not in groups:
            groups[group_name] = ComponentGroup.objects.create(name=group_name, position=len(groups))
        component = Component.objects.create(
            name=name, group=groups[group_name], position=position, description=description
        )
        component.services.set([services[n] for n in service_names if n in services])
    status_config_changed()
