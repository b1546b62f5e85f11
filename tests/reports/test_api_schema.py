"""Schemathesis over the report API with a finance key (the success path a channel key,
which tests/core/test_schemathesis.py uses, is refused): every answer documented, none a 5xx."""

import pytest
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.core.test_schemathesis import schema


@pytest.fixture
def finance(fortnight):
    from apps.core.services import create_api_client

    _, raw_key = create_api_client(name="Books", role="finance")
    return {"Authorization": f"Bearer {raw_key}"}


@schema.include(path_regex=r"^/api/v1/reports/").parametrize()
@settings(max_examples=60, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.django_db
def test_the_report_api_keeps_to_its_schema(case, finance):
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        case.call_and_validate(headers=finance, excluded_checks=[positive_data_acceptance])
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
