"""Fixtures shared by every app's tests: the cast of people, API clients, and skip rules."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from irp_site.groups import PLAN_OWNERS, RESPONDERS, STAKEHOLDERS
from irp_site.services import api_token_issue
from irp_site.testing.receivers import HttpReceiver, SmtpReceiver

# Playwright's sync API runs an event loop in the test thread; Django must still allow the ORM there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parent / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def skip_or_fail(reason: str) -> None:
    """Skip on a developer's laptop; fail in CI (IRP_REQUIRE_ALL=1), where nothing may be missing."""
    if os.environ.get("IRP_REQUIRE_ALL") == "1":
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # Hashing test passwords with a production-strength hasher costs ~0.3 s per person.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_triage_config() -> None:
    # Ingestion keeps the routing configuration for a couple of seconds; each test starts afresh,
    # since a rolled-back test leaves no save signal behind to clear it.
    from incidents.services.ratelimit import forget_integration_copies
    from incidents.services.routing import forget_triage_config

    forget_triage_config()
    forget_integration_copies()


def _person(username: str, *groups: str, **extra: object) -> User:
    user = User.objects.create_user(username, email=f"{username}@example.test", password="pw-for-tests", **extra)
    user.groups.set(Group.objects.filter(name__in=groups))
    return user


@pytest.fixture
def plan_owner(db: None) -> User:
    return _person("olivia", PLAN_OWNERS, first_name="Olivia", last_name="Owner")


@pytest.fixture
def responder(db: None) -> User:
    return _person("rui", RESPONDERS, first_name="Rui", last_name="Responder")


@pytest.fixture
def incident_commander(db: None) -> User:
    return _person("ines", RESPONDERS, first_name="Ines", last_name="Commander")


@pytest.fixture
def stakeholder(db: None) -> User:
    return _person("stella", STAKEHOLDERS, first_name="Stella", last_name="Stakeholder")


@pytest.fixture
def outsider(db: None) -> User:
    """Signed in, but in no IRP group."""
    return _person("otto", first_name="Otto", last_name="Outsider")


@pytest.fixture
def api_client_for(db: None) -> Callable[[User], APIClient]:
    def make(user: User) -> APIClient:
        _, raw = api_token_issue(user, name="test")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return make


@pytest.fixture
def http() -> Iterator[HttpReceiver]:
    """A local HTTP server standing in for Slack and webhook receivers."""
    with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture
def status_cache_cleared() -> Iterator[None]:
    """The status page's cached answers and version, forgotten before and after the test."""
    from incidents.tests.status_builders import fresh_status_cache

    fresh_status_cache()
    yield
    fresh_status_cache()


@pytest.fixture
def smtp(settings: Any) -> Iterator[SmtpReceiver]:
    """A real SMTP server on loopback, and Django's mail pointed at it."""
    with SmtpReceiver() as receiver:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = receiver.port
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_USE_SSL = False
        yield receiver


@pytest.fixture(scope="session")
def chromium() -> Any:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        skip_or_fail("Chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any, request: pytest.FixtureRequest) -> Any:
    """A fresh browser tab; console errors are collected in `page.console_errors`."""
    context = chromium.new_context()
    tab = context.new_page()
    tab.console_errors = []
    tab.on("console", lambda message: message.type == "error" and tab.console_errors.append(message.text))
    tab.on(
        "response",
        lambda response: response.status >= 400 and tab.console_errors.append(f"{response.status} {response.url}"),
    )
    yield tab
    context.close()


def save_screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def migrated_data(transactional_db: None) -> None:
    """Put back what data migrations create (groups, the default plan), which a transactional
    test's flush removes. Serialized rollback would do this, but it loses its snapshot when
    non-transactional tests run first in the same session, so tests restore it themselves."""
    import importlib

    from django.apps import apps

    from irp_site.groups import sync_group_permissions

    for module, function in (
        ("irp_site.migrations.0002_groups", "create_groups"),
        ("incidents.migrations.0002_default_plan", "create_default_plan"),
        ("incidents.migrations.0005_default_urgency", "set_urgency"),
        ("incidents.migrations.0008_runbooks_comms", "create_default_cadence"),
    ):
        getattr(importlib.import_module(module), function)(apps, None)
    sync_group_permissions()
