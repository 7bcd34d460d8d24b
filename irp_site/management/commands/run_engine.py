from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from irp_site.engine import Engine


class Command(BaseCommand):
    help = "Run the engine: claim due escalation and communication work every tick."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tick", type=float, default=None, help="Seconds between ticks.")
        parser.add_argument("--max-ticks", type=int, default=None, help="Stop after this many ticks.")

    def handle(self, *args: Any, tick: float | None, max_ticks: int | None, **options: Any) -> None:
        Engine(tick_seconds=tick).run(max_ticks=max_ticks)
