"""One-click acknowledge/resolve links for notifications: signed, expiring, single use.

The token carries the incident, the person it was sent to, the action, the channel and a nonce;
it is signed with SECRET_KEY so nothing needs storing until it is used. Using it records the nonce
(unique), which is what makes a link single-use.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "irp.incidents.action-link"
ACTIONS = {"acknowledge": "Acknowledge", "resolve": "Resolve"}


class LinkExpired(Exception):
    pass


class LinkInvalid(Exception):
    pass


@dataclass(frozen=True)
class ActionLink:
    incident_id: int
    user_id: int
    action: str
    channel: str
    nonce: str
    issued_at: datetime | None = None


def action_link_token(incident_id: int, user_id: int, action: str, channel: str) -> str:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    data = {"i": incident_id, "u": user_id, "a": action, "c": channel, "n": secrets.token_urlsafe(12)}
    return signing.dumps(data, salt=SALT, compress=True)


def action_link_url(token: str) -> str:
    return settings.SITE_URL + reverse("incidents:action-link", args=[token])


def action_link_read(token: str) -> ActionLink:
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.ACTION_LINK_MAX_AGE_SECONDS)
    except signing.SignatureExpired as error:
        raise LinkExpired(str(error)) from error
    except signing.BadSignature as error:
        raise LinkInvalid(str(error)) from error
    try:
        link = ActionLink(int(data["i"]), int(data["u"]), str(data["a"]), str(data.get("c", "")), str(data["n"]))
    except (KeyError, TypeError, ValueError) as error:
        raise LinkInvalid("incomplete link") from error
    if link.action not in ACTIONS:
        raise LinkInvalid("unknown action")
    return link
