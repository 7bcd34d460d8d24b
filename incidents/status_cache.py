"""Cached answers for the public status page: rendered once per page version, served from the cache.

Every change that shows on the page bumps `StatusPage.version` in the database. Each process
reads that number at most once a second (and at once after its own publishing), so a refresh
storm costs no query per request, while every web process sees a publication within a second.
Answers carry ETag and Last-Modified, and answer conditional requests with 304, so a CDN or a
browser in front can revalidate for nearly nothing.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import http_date, parse_http_date_safe

from incidents.models.status import StatusPage

CHECK_EVERY_SECONDS = 1.0
# A CDN in front may keep an answer this long without asking again; browsers ask every time, and
# are answered 304 while nothing changed, so a customer who reloads sees a publication at once.
SHARED_MAX_AGE_SECONDS = 10
CACHE_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class Version:
    number: int
    updated_at: datetime
    checked_at: float


_lock = threading.Lock()
_current: Version | None = None


def current_version() -> Version:
    global _current
    seen = _current
    if seen is not None and time.monotonic() - seen.checked_at < CHECK_EVERY_SECONDS:
        return seen
    row = StatusPage.objects.order_by("pk").values_list("version", "updated_at").first()
    if row is None:
        page = StatusPage.objects.current()
        row = (page.version, page.updated_at)
    fresh = Version(number=row[0], updated_at=row[1], checked_at=time.monotonic())
    with _lock:
        _current = fresh
    return fresh


def forget_version() -> None:
    """After this process published: the next request reads the new version."""
    global _current
    with _lock:
        _current = None
        _local.clear()


Render = Callable[[], tuple[bytes, str]]
# Smaller answers go out as they are; larger ones are gzipped once per version, not per request.
GZIP_MIN_BYTES = 1024


Rendered = tuple[bytes, bytes | None, str]
# Answers are also kept in this process as they are, with the version they belong to: Django's
# cache pickles values, and unpickling a page of 4,500 bars on every request would cost more than
# the rest of the request.
_local: dict[str, tuple[str, Rendered]] = {}
LOCAL_MAX_ENTRIES = 200


def _rendered(version_key: str, key: str, render: Render) -> Rendered:
    entry = _local.get(key)
    if entry is not None and entry[0] == version_key:
        return entry[1]
    cache_key = f"irp-status:{version_key}:{key}"
    stored = cache.get(cache_key)
    if stored is None:
        # One answer for everyone: in UTC (as the page says), whoever's request rendered it.
        with timezone.override(UTC):
            body, content_type = render()
        gzipped = gzip.compress(body, compresslevel=6, mtime=0) if len(body) >= GZIP_MIN_BYTES else None
        stored = (body, gzipped, content_type)
        cache.set(cache_key, stored, CACHE_TIMEOUT_SECONDS)
    if len(_local) >= LOCAL_MAX_ENTRIES:
        _local.clear()  # permalinks of many old incidents must not fill the memory
    _local[key] = (version_key, stored)
    return stored


def cached_response(request: HttpRequest, key: str, render: Render, *, cors: bool = False) -> HttpResponse:
    """The answer for `key` at the page's current version, rendering it only when the cache has none."""
    version = current_version()
    etag = f'"{version.number}-{version.updated_at.timestamp():.0f}"'
    last_modified = int(version.updated_at.timestamp())
    response: HttpResponse
    body, gzipped, content_type = _rendered(etag, key, render)
    use_gzip = gzipped is not None and "gzip" in request.headers.get("Accept-Encoding", "")
    if use_gzip:
        # Each representation has its own validator, as a CDN expects.
        etag = etag[:-1] + '-gzip"'
    if _not_modified(request, etag, last_modified):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(gzipped if use_gzip else body, content_type=content_type)
        if use_gzip:
            response["Content-Encoding"] = "gzip"
    if gzipped is not None:
        patch_vary_headers(response, ["Accept-Encoding"])
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified)
    response["Cache-Control"] = f"public, max-age=0, s-maxage={SHARED_MAX_AGE_SECONDS}, must-revalidate"
    if cors:
        response["Access-Control-Allow-Origin"] = "*"
    session = getattr(request, "session", None)
    if session is not None:
        # The answer is the same with or without a session (a middleware looked at who is signed
        # in, not this view): no `Vary: Cookie`, so a CDN keeps one copy for everybody.
        session.accessed = False
    return response


def _not_modified(request: HttpRequest, etag: str, last_modified: int) -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        return etag in [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")] or if_none_match == "*"
    header = request.headers.get("If-Modified-Since")
    since = parse_http_date_safe(header) if header else None
    return since is not None and last_modified <= since
