"""Schema fuzzing: schemathesis drives every operation from the service's own OpenAPI document.
No request may cause a 5xx, every response must match its documented schema and status codes, and
schema-invalid requests must be refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from followup.answerer import Answerer
from followup.serve.app import ServiceSettings, create_app

pytestmark = pytest.mark.model

# The operations, read from the app's OpenAPI document (building the app loads nothing).
OPERATIONS = [
    (path, method.upper())
    for path, methods in create_app(ServiceSettings(Path("index"), None)).openapi()["paths"].items()
    for method in methods
]


@pytest.fixture(scope="module")
def api_schema(built: tuple[Path, Path], answerer: Answerer) -> Any:
    # Served from here on: schemathesis calls the ASGI app without running its lifespan.
    app = create_app(ServiceSettings(index_dir=built[1], corpus_dir=built[0]), answerer)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_every_operation_keeps_its_contract(api_schema: Any, path: str, method: str) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def fuzz(case: Any) -> None:
        # A schema-valid request may still be refused with a documented 4xx (an unknown article, a
        # conversation that ends with the assistant): that check is for APIs whose schema says it all.
        case.call_and_validate(excluded_checks=[positive_data_acceptance])

    fuzz()


@pytest.mark.parametrize("export_format", ["ris", "csl-json"])
def test_the_reference_export_matches_its_documented_response(api_schema: Any, export_format: str) -> None:
    # Fuzzed article ids are never the bundled article's: its files are checked against the document here.
    operation = api_schema["/v1/articles/{article_id}/references"]["GET"]
    case = operation.Case(path_parameters={"article_id": "muscle-spasm"}, query={"format": export_format})
    response = case.call_and_validate()
    assert response.status_code == 200
