import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from irp_site.models import ApiToken, hash_token

pytestmark = pytest.mark.django_db


def test_create_api_token_prints_the_token_and_nothing_else(
    plan_owner: User, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("create_api_token", plan_owner.username)

    printed = capsys.readouterr().out
    raw = printed.strip()
    assert printed == raw + "\n"
    assert raw.startswith("irp_")
    assert len(raw) > 40

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/severity-levels/").status_code == 200


def test_tokens_are_stored_hashed(plan_owner: User, capsys: pytest.CaptureFixture[str]) -> None:
    call_command("create_api_token", plan_owner.username)
    raw = capsys.readouterr().out.strip()

    stored = ApiToken.objects.get(user=plan_owner)
    assert stored.token_hash == hash_token(raw)
    stored_values = [str(value) for value in ApiToken.objects.values().get().values()]
    assert raw not in stored_values
    assert stored.hint == raw[:12]


def test_create_api_token_for_an_unknown_user_fails_plainly() -> None:
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        call_command("create_api_token", "ghost")


def test_a_deactivated_persons_token_stops_working(plan_owner: User, capsys: pytest.CaptureFixture[str]) -> None:
    call_command("create_api_token", plan_owner.username)
    raw = capsys.readouterr().out.strip()
    User.objects.filter(pk=plan_owner.pk).update(is_active=False)

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/severity-levels/").status_code == 401
