from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime

from django.contrib.auth.models import User
from django.utils import timezone

from irp_site.models import TOKEN_PREFIX, ApiToken, Heartbeat, hash_token


def api_token_issue(user: User, *, name: str = "") -> tuple[ApiToken, str]:
    """Create a token for `user`; the raw secret is returned once and never stored."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, token_hash=hash_token(raw), hint=raw[:12])
    return token, raw


def api_token_revoke(token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def process_instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def heartbeat_record(kind: Heartbeat.Kind, *, instance: str | None = None, at: datetime | None = None) -> None:
    Heartbeat.objects.update_or_create(
        kind=kind,
        instance=instance or process_instance_name(),
        defaults={"beat_at": at or timezone.now()},
    )
