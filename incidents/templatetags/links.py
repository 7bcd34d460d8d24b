from __future__ import annotations

from urllib.parse import urlsplit

from django import template

register = template.Library()


@register.filter
def is_web_url(value: object) -> bool:
    """Only http(s) links from alert payloads become clickable: `javascript:` and friends stay text."""
    if not isinstance(value, str):
        return False
    try:
        return urlsplit(value.strip()).scheme.lower() in ("http", "https")
    except ValueError:
        return False
