from __future__ import annotations

from datetime import timedelta

from django import template

from incidents.durations import format_duration
from incidents.models import SeverityLevel

register = template.Library()


@register.filter
def duration(value: timedelta | None) -> str:
    return format_duration(value)


@register.filter
def resolution_target(level: SeverityLevel) -> str:
    if level.resolution_target_kind == SeverityLevel.ResolutionTarget.DURATION:
        return format_duration(level.resolution_target)
    return level.get_resolution_target_kind_display()
