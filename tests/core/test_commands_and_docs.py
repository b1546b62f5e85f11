import io

from django.core.management import call_command
from rest_framework.test import APIClient

from apps.catalog.models import Variant
from apps.core.models import ApiClient
from apps.inventory.models import Location, StockLevel
from apps.inventory.selectors import list_ledger_mismatches


def test_create_api_key_prints_a_working_key_once_as_the_last_line(db):
    out = io.StringIO()
    call_command("create_api_key", "--channel", "phone", "--name", "PieLine", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]

    client = ApiClient.objects.get()
    assert (client.name, client.channel) == ("PieLine", "phone")
    assert key not in (client.key_hash, client.key_prefix)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get("/api/v1/locations").status_code == 200


def test_seed_demo_is_idempotent_and_balanced(db):
    call_command("seed_demo", stdout=io.StringIO())
    counts = (Location.objects.count(), Variant.objects.count(), StockLevel.objects.count())
    call_command("seed_demo", stdout=io.StringIO())

    assert counts == (3, 51, 153)
    assert (Location.objects.count(), Variant.objects.count(), StockLevel.objects.count()) == counts
    assert set(Location.objects.values_list("timezone", flat=True)) == {
        "America/Los_Angeles", "America/New_York", "America/Chicago"}
    assert list_ledger_mismatches() == []


def test_openapi_schema_describes_the_order_contract(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/orders", "/api/v1/orders/{order_id}", "/api/v1/catalog",
            "/api/v1/availability", "/api/v1/locations"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http", "scheme": "bearer",
        "description": "A key from `python manage.py create_api_key`, as `Bearer <key>`."}
    assert schema["paths"]["/api/v1/orders"]["post"]["security"] == [{"ApiKey": []}]


def test_api_docs_load_their_assets_locally(client):
    html = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()


def test_catalog_and_availability_of_a_location(shop, phone):
    catalog = phone.get("/api/v1/catalog?location=OAK").json()
    burrito = next(v for v in catalog["variants"] if v["sku"] == "BURRITO")
    assert burrito["price"] == {"amount": 950, "currency": "USD"}
    assert burrito["available"] == 50
    assert burrito["modifier_groups"][0]["modifiers"][1]["sku"] == "EXTRA-GUAC"

    availability = phone.get("/api/v1/availability?location=OAK&sku=SCARCE,TACO").json()
    assert availability["availability"] == [
        {"sku": "SCARCE", "available": 3, "is_86d": False},
        {"sku": "TACO", "available": 40, "is_86d": False},
    ]
    unknown = phone.get("/api/v1/availability?location=OAK&sku=NOPE")
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["code"] == "unknown_sku"
    assert phone.get("/api/v1/catalog").json()["errors"][0]["code"] == "required"
