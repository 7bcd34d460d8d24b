import pytest
from django.test import Client
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


def test_the_schema_is_valid_openapi_3_and_covers_the_plan_endpoints(client: Client) -> None:
    response = client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = response.json()
    validate(schema)
    assert schema["openapi"].startswith("3.")
    for path in ("/api/v1/teams/", "/api/v1/services/", "/api/v1/severity-levels/", "/api/v1/roles/", "/api/v1/plan/"):
        assert path in schema["paths"], path
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from `manage.py create_api_token`.",
    }


def test_the_interactive_docs_load_their_assets_from_this_server(client: Client) -> None:
    page = client.get("/api/docs/")
    script = client.get("/api/docs/", {"script": ""})

    assert page.status_code == 200
    html = page.content.decode()
    assert "swagger-ui" in html
    assert "https://" not in html  # no CDN
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()
