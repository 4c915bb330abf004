"""Fuzz the API from its OpenAPI description with a valid token: never a 5xx, every error in our JSON shape."""
from __future__ import annotations

import json

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.errors import UnsupportedSchema


def test_the_description_documents_the_bearer_scheme(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["paths"]["/api/v1/incidents"]["post"]["security"] == [{"bearerAuth": []}]
    assert spec["paths"]["/api/v1/health"]["get"]["security"] == []


def test_fuzzing_every_operation_with_a_valid_token_gives_no_5xx_and_only_json_errors(app, client):
    app.config["API_RATE_LIMIT"] = "100000 per minute"
    headers = {"Authorization": client.environ_base["HTTP_AUTHORIZATION"]}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=10, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            response = case.call(headers=headers)
            where = f"{case.method} {case.formatted_path} → {response.status_code}"
            if response.status_code >= 500:
                failures.append(f"{where}: {response.text[:200]}")
            elif response.status_code >= 400:
                try:
                    body = json.loads(response.text)
                except ValueError:
                    body = None
                if not isinstance(body, dict) or set(body) != {"code", "message", "errors"}:
                    failures.append(f"{where}: not our error shape: {response.text[:200]}")

        try:
            check()
        except UnsupportedSchema as error:
            failures.append(f"{operation.label}: schemathesis cannot generate cases: {str(error)[:300]}")
    assert failures == []
