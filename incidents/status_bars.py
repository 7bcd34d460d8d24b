"""The 90-day bars as HTML, rendered in Python: 50 components make 4,500 bars, too many for a
template loop to render quickly each time the page's version changes."""

from __future__ import annotations

from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

STATUS_WORDS = {
    "none": "No data",
    "operational": "No incidents",
    "degraded_performance": "Degraded performance",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
    "under_maintenance": "Maintenance",
}


def bars_html(name: str, days: list[dict[str, Any]]) -> SafeString:
    """An ordered list of one bar a day; each shows its date and incidents on hover or focus (CSS only)."""
    items: list[str] = []
    for day in days:
        status = day["status"] if day["status"] in STATUS_WORDS else "none"
        lines: list[str] = [escape(day["date"])]
        lines += [escape(title) for title in day.get("incidents", [])] or [STATUS_WORDS[status]]
        if day.get("more"):
            lines.append(f"and {int(day['more'])} more")
        # Only days with incidents take keyboard focus: 90 stops per component would bury the page.
        focus = ' tabindex="0"' if day.get("incidents") else ""
        items.append(f'<li class="bar status-{status}"{focus}><span class="tip">{"<br>".join(lines)}</span></li>')
    label = escape(f"{name}: the last {len(days)} days")
    return mark_safe(f'<ol class="uptime-bars" aria-label="{label}">{"".join(items)}</ol>')
