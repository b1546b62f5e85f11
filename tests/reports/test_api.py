"""GET /api/v1/reports/channels: the hand-computed fortnight as DESIGN.md's JSON, for finance keys."""

import pytest

from apps.core.services import create_api_client
from apps.reports import rollup
from tests.reports.conftest import EXPECTED_ROWS, EXPECTED_TOTALS

pytestmark = pytest.mark.django_db
URL = "/api/v1/reports/channels"


@pytest.fixture
def staff_key(db):
    from rest_framework.test import APIClient

    def make(role):
        _, raw_key = create_api_client(name=f"{role} tool", role=role)
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        return api

    return make


def test_a_finance_key_reads_the_report(fortnight, staff_key):
    rollup.refresh_channel_rollup()

    response = staff_key("finance").get(URL, {"from": "2026-11-24", "to": "2026-11-25"})

    assert response.status_code == 200
    body = response.json()
    assert body["rows"] == EXPECTED_ROWS
    assert {key: body["totals"][key] for key in EXPECTED_TOTALS} == EXPECTED_TOTALS
    assert body["totals"]["previous_period"]["gross_sales"] == 375


@pytest.mark.parametrize("who", ["customer_service", "phone", "web"])
def test_other_keys_are_refused_in_the_one_error_shape(fortnight, staff_key, make_client, who):
    api = staff_key(who) if who == "customer_service" else make_client(who)

    response = api.get(URL, {"from": "2026-11-24", "to": "2026-11-25"})

    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "forbidden"


def test_without_a_key_it_is_401(db):
    from rest_framework.test import APIClient

    assert APIClient().get(URL, {"from": "2026-11-24", "to": "2026-11-25"}).status_code == 401


@pytest.mark.parametrize(("params", "code", "field"), [
    ({"to": "2026-11-25"}, "required", "from"),
    ({"from": "2026-11-24"}, "required", "to"),
    ({"from": "2026-11-24", "to": "2026-11-23"}, "invalid_range", "to"),
    ({"from": "2020-01-01", "to": "2026-11-23"}, "invalid_range", "to"),
    ({"from": "24/11/2026", "to": "2026-11-25"}, "invalid", "from"),
    ({"from": "0001-01-01", "to": "0001-01-02"}, "invalid", "from"),
    ({"from": "2026-11-24", "to": "2026-11-25", "location": "OAK"}, "unknown_parameter", "location"),
])
def test_a_bad_range_is_422_naming_its_field(db, staff_key, params, code, field):
    response = staff_key("finance").get(URL, params)

    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == code
    assert response.json()["errors"][0]["field"] == field
