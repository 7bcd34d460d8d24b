"""Incident roles: assigning and handing over Incident Commander, Technical Lead, Communications Lead
and SMEs, what the timeline says, what the plan warns about, and the REST actions."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from incidents.models import Incident, IncidentRole, Role, SeverityLevel
from incidents.services.declaring import incident_declare
from incidents.services.errors import InvalidInput
from incidents.services.lifecycle import incident_resolve
from incidents.services.roles import role_assign, role_holder, role_holders, role_release, role_warnings
from incidents.tests.factories import make_person, make_service

pytestmark = pytest.mark.django_db


def role(key: str) -> Role:
    return Role.objects.get(key=key)


def declare(actor: User, severity: str = "P1") -> Incident:
    return incident_declare(
        service=make_service(),
        severity=SeverityLevel.objects.get(name=severity),
        title="Checkout is down",
        started_at=None,
        actor=actor,
    )


def role_messages(incident: Incident) -> list[str]:
    return list(incident.timeline.filter(kind="role_assigned").order_by("at", "pk").values_list("message", flat=True))


@pytest.fixture
def alex(db: None) -> User:
    return make_person("alex")


@pytest.fixture
def sam(db: None) -> User:
    return make_person("sam")


def test_handing_over_a_role_ends_the_previous_holder_and_says_so(responder: User, alex: User, sam: User) -> None:
    incident = declare(responder)
    commander = role("incident-commander")

    role_assign(incident, commander, sam, actor=responder)
    role_assign(incident, commander, alex, actor=responder)
    role_assign(incident, commander, alex, actor=responder)  # unchanged: nothing happens

    assert role_messages(incident) == [
        "Sam is now Incident Commander; assigned by Rui Responder.",
        "Alex is now Incident Commander (was Sam); assigned by Rui Responder.",
    ]
    assert role_holder(incident, "incident-commander") == alex
    history = list(IncidentRole.objects.filter(incident=incident).values_list("user__username", "ended_at"))
    assert history[0][0] == "sam"
    assert history[0][1] is not None
    assert history[1] == ("alex", None)


def test_several_people_can_be_subject_matter_experts_at_once(responder: User, alex: User, sam: User) -> None:
    incident = declare(responder)
    expert = role("subject-matter-expert")

    role_assign(incident, expert, alex, actor=responder)
    role_assign(incident, expert, sam, actor=responder)

    assert role_holders(incident) == {"subject-matter-expert": [alex, sam]}
    assert role_messages(incident)[1] == "Sam is now Subject Matter Expert; assigned by Rui Responder."


def test_the_database_refuses_two_current_incident_commanders(responder: User, alex: User, sam: User) -> None:
    incident = declare(responder)
    commander = role("incident-commander")
    IncidentRole.objects.create(incident=incident, role=commander, user=alex)

    with pytest.raises(IntegrityError), transaction.atomic():
        IncidentRole.objects.create(incident=incident, role=commander, user=sam)


def test_releasing_a_role_leaves_it_empty(responder: User, alex: User, sam: User) -> None:
    incident = declare(responder)
    lead = role("technical-lead")
    role_assign(incident, lead, alex, actor=alex)

    role_release(incident, lead, alex, actor=alex)

    assert role_holder(incident, "technical-lead") is None
    assert role_messages(incident) == ["Alex is now Technical Lead.", "Alex is no longer Technical Lead."]
    with pytest.raises(InvalidInput) as error:
        role_release(incident, lead, sam, actor=responder)
    assert error.value.field == "user"


def test_a_p1_warns_about_empty_required_roles_and_one_person_as_commander_and_lead(
    responder: User, alex: User, sam: User
) -> None:
    incident = declare(responder, "P1")
    assert role_warnings(incident) == [
        "No Incident Commander yet",
        "No Technical Lead yet",
        "No Communications Lead yet",
    ]

    role_assign(incident, role("incident-commander"), alex, actor=responder)
    role_assign(incident, role("technical-lead"), alex, actor=responder)
    role_assign(incident, role("communications-lead"), sam, actor=responder)
    assert role_warnings(incident) == ["Incident Commander and Technical Lead are the same person"]

    role_assign(incident, role("technical-lead"), sam, actor=responder)
    assert role_warnings(incident) == []

    role_assign(incident, role("technical-lead"), alex, actor=responder)
    incident_resolve(incident, actor=responder)
    assert role_warnings(incident) == []


def test_below_p1_the_plan_only_asks_for_its_required_roles(responder: User, alex: User) -> None:
    incident = declare(responder, "P3")
    role_assign(incident, role("incident-commander"), alex, actor=responder)
    role_assign(incident, role("technical-lead"), alex, actor=responder)

    # P3 requires IC and TL, not a Communications Lead; one person may hold both below P1.
    assert role_warnings(incident) == []


# --- REST ----------------------------------------------------------------------------------------


def test_assigning_and_releasing_roles_over_rest(
    responder: User, alex: User, sam: User, api_client_for: Callable[[User], APIClient]
) -> None:
    incident = declare(responder)
    client = api_client_for(responder)

    response = client.post(
        f"/api/v1/incidents/{incident.pk}/assign-role/", {"role": "incident-commander", "user": alex.pk}
    )
    assert response.status_code == 200, response.content
    assert response.json()["roles"] == {"incident-commander": [{"id": alex.pk, "username": "alex", "name": "Alex"}]}

    client.post(f"/api/v1/incidents/{incident.pk}/assign-role/", {"role": "subject-matter-expert", "user": sam.pk})
    listed = client.get("/api/v1/incidents/").json()["results"][0]
    assert sorted(listed["roles"]) == ["incident-commander", "subject-matter-expert"]

    response = client.post(
        f"/api/v1/incidents/{incident.pk}/release-role/", {"role": "incident-commander", "user": alex.pk}
    )
    assert response.status_code == 200
    assert list(response.json()["roles"]) == ["subject-matter-expert"]


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("assign-role", {"role": "chief-of-everything", "user": "ALEX"}, "role"),
        ("assign-role", {"role": "incident-commander", "user": 987_654}, "user"),
        ("assign-role", {"role": "incident-commander", "user": 2**64}, "user"),
        ("assign-role", {"role": "incident-commander"}, "user"),
        ("release-role", {"role": "incident-commander", "user": "ALEX"}, "user"),
        ("release-role", {"role": "incident-commander", "user": 987_654}, "user"),
        ("assign-role", {"role": "incident-commander", "user": "GONE"}, "user"),
        ("assign-role", {"role": "incident-commander", "user": ["ALEX"]}, "user"),
        ("assign-role", {"role": ["incident-commander"], "user": "ALEX"}, "role"),
        ("assign-role", {"role": 1, "user": "ALEX"}, "role"),
        ("assign-role", {"role": None, "user": "ALEX"}, "role"),
        ("assign-role", {"role": "incident-commander\x00", "user": "ALEX"}, "role"),
        ("release-role", {"role": "\udfff", "user": "ALEX"}, "role"),
    ],
)
def test_bad_role_input_is_a_400_naming_the_field(
    action: str,
    body: dict[str, object],
    field: str,
    responder: User,
    alex: User,
    api_client_for: Callable[[User], APIClient],
) -> None:
    incident = declare(responder)
    gone = make_person("gone", is_active=False)
    ids = {"ALEX": alex.pk, "GONE": gone.pk}

    def fill(value: object) -> object:
        if isinstance(value, list):
            return [fill(item) for item in value]
        return ids[value] if isinstance(value, str) and value in ids else value

    body = {key: fill(value) for key, value in body.items()}

    # Encoded here: json.dumps escapes a lone surrogate, which the test client's encoder refuses.
    response = api_client_for(responder).post(
        f"/api/v1/incidents/{incident.pk}/{action}/", json.dumps(body), content_type="application/json"
    )

    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not IncidentRole.objects.exists()


def test_a_deactivated_holder_can_still_be_released(
    responder: User, alex: User, api_client_for: Callable[[User], APIClient]
) -> None:
    incident = declare(responder)
    role_assign(incident, role("incident-commander"), alex, actor=responder)
    alex.is_active = False
    alex.save()

    response = api_client_for(responder).post(
        f"/api/v1/incidents/{incident.pk}/release-role/", {"role": "incident-commander", "user": alex.pk}
    )

    assert response.status_code == 200, response.content
    assert response.json()["roles"] == {}
    assert role_messages(incident)[-1] == "Alex is no longer Incident Commander; released by Rui Responder."


def test_stakeholders_read_roles_but_cannot_assign_and_outsiders_see_nothing(
    responder: User, stakeholder: User, outsider: User, alex: User, api_client_for: Callable[[User], APIClient]
) -> None:
    incident = declare(responder)
    role_assign(incident, role("incident-commander"), alex, actor=responder)
    body = {"role": "technical-lead", "user": alex.pk}

    reader = api_client_for(stakeholder)
    assert reader.get(f"/api/v1/incidents/{incident.pk}/").json()["roles"]["incident-commander"][0]["id"] == alex.pk
    assert reader.post(f"/api/v1/incidents/{incident.pk}/assign-role/", body).status_code == 403
    stranger = api_client_for(outsider)
    assert stranger.get(f"/api/v1/incidents/{incident.pk}/").status_code == 403
    assert stranger.post(f"/api/v1/incidents/{incident.pk}/assign-role/", body).status_code == 403
    assert role_holders(incident) == {"incident-commander": [alex]}


def test_the_incident_admin_shows_who_held_each_role(
    client: Client, plan_owner: User, responder: User, alex: User, sam: User
) -> None:
    incident = declare(responder)
    role_assign(incident, role("incident-commander"), sam, actor=responder)
    role_assign(incident, role("incident-commander"), alex, actor=responder)
    client.force_login(plan_owner)

    html = client.get(f"/admin/incidents/incident/{incident.pk}/change/").content.decode()

    roles = html.split("Roles (current and past holders)", 1)[1].split("</fieldset>", 1)[0]
    assert roles.count(">Incident Commander</a>") == 2
    assert "sam" in roles
    assert "alex" in roles


def test_stakeholders_and_outsiders_do_not_get_the_incident_admin(
    client: Client, stakeholder: User, outsider: User, responder: User, alex: User
) -> None:
    incident = declare(responder)
    role_assign(incident, role("incident-commander"), alex, actor=responder)

    for person in (stakeholder, outsider):
        client.force_login(person)
        response = client.get(f"/admin/incidents/incident/{incident.pk}/change/")
        # The admin sends them to sign in as someone else; the page itself is never shown.
        assert response.status_code == 302, person.username
        assert response["Location"].startswith(reverse("admin:login"))
        assert "alex" not in response.content.decode()


def test_a_plan_role_required_for_an_unreadable_severity_is_a_400(
    plan_owner: User, api_client_for: Callable[[User], APIClient]
) -> None:
    body = {"key": "scribe", "name": "Scribe", "required_for": ["P1\x00"]}

    response = api_client_for(plan_owner).post("/api/v1/roles/", body, format="json")

    assert response.status_code == 400
    assert "required_for" in response.json(), response.json()
    assert not Role.objects.filter(key="scribe").exists()
