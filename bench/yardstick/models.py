from typing import ClassVar

from django.db import models


class YardstickRow(models.Model):
    """One small row per insert request: the cheapest write IRP's stack can do."""

    name = models.CharField(max_length=100)
    value = models.IntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    # Declared because mypy's Django plugin reads irp_site.settings, where this app is not installed.
    objects: ClassVar[models.Manager["YardstickRow"]] = models.Manager()

    def __str__(self) -> str:
        return self.name
