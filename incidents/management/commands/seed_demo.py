from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from incidents.demo import DEMO_PASSWORD, DEMO_PLAN_OWNER, seed_demo_organisation


class Command(BaseCommand):
    help = "Load the demo organisation (Acme) once. Development only: its accounts share a published password."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("seed_demo creates accounts with a published password; it only runs with DEBUG=1.")
        created = seed_demo_organisation()
        self.stdout.write(
            "Loaded the demo organisation Acme." if created else "The demo organisation is already loaded."
        )
        self.stdout.write(
            f"Sign in as {DEMO_PLAN_OWNER} / {DEMO_PASSWORD} (plan owner; every demo person has that password)."
        )
