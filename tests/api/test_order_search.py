"""GET /api/v1/orders: the search box, each filter, keyset pagination over ties, and a
page built in a constant number of queries."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.api_cursor import encode_cursor
from apps.orders import selectors
from apps.orders.models import Order
from tests.api.conftest import SHOPPERS
from tests.factories import LocationFactory
from tests.helpers import post_order, simple_order

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def ids(response):
    assert response.status_code == 200, response.content
    return [order["id"] for order in response.json()["orders"]]


def place_at(order_id, at):
    Order.objects.filter(pk=order_id).update(placed_at=at)


@pytest.fixture
def dated(world):
    """pieline's order on day 0, callhero's on day 1, checkout's on day 2."""
    for day, name in enumerate(("pieline", "callhero", "checkout")):
        place_at(world[name]["id"], T0 + timedelta(days=day))
    return {name: order["id"] for name, order in world.items()}


class TestFilters:
    @pytest.mark.parametrize("q, expected", [
        ("Ben", ["callhero"]), ("okafor", ["callhero"]),           # the customer's name
        ("cy@example.com", ["checkout"]),                          # email
        ("(510) 555-0123", ["pieline"]), ("510.555.0199", ["checkout"]),  # phone, any punctuation
        ("callhero-1", ["callhero"]),                              # external id
        ("nobody", []),
    ])
    def test_q_matches_name_email_phone_and_external_id(self, keys, dated, q, expected):
        assert ids(keys["helpdesk"].get("/api/v1/orders", {"q": q})) == [dated[name] for name in expected]

    def test_q_matches_the_order_number(self, keys, dated):
        number = dated["callhero"]
        assert ids(keys["helpdesk"].get("/api/v1/orders", {"q": f"#{number}"})) == [number]

    def test_newest_first_and_each_filter(self, keys, dated, shop):
        staff = keys["helpdesk"]
        assert ids(staff.get("/api/v1/orders")) == [dated["checkout"], dated["callhero"], dated["pieline"]]
        assert ids(staff.get("/api/v1/orders", {"channel": "web"})) == [dated["checkout"]]
        assert ids(staff.get("/api/v1/orders", {"channel": "phone"})) == [dated["callhero"], dated["pieline"]]
        assert ids(staff.get("/api/v1/orders", {"external_id": "pieline-1"})) == [dated["pieline"]]
        ben = Order.objects.get(pk=dated["callhero"]).customer_id
        assert ids(staff.get("/api/v1/orders", {"customer": ben})) == [dated["callhero"]]
        assert ids(staff.get("/api/v1/orders", {"placed_after": "2026-11-21T12:00:00Z"})) == [
            dated["checkout"], dated["callhero"]]
        before = staff.get("/api/v1/orders", {"placed_before": "2026-11-21T12:00:00Z"})
        assert ids(before) == [dated["pieline"]]
        between = staff.get("/api/v1/orders", {"placed_after": "2026-11-21T00:00:00",  # no offset: UTC
                                               "placed_before": "2026-11-22T00:00:00"})
        assert ids(between) == [dated["callhero"]]
        LocationFactory(code="BKN", name="Brooklyn")
        assert ids(staff.get("/api/v1/orders", {"location": "OAK"})) == list(reversed(dated.values()))
        assert ids(staff.get("/api/v1/orders", {"location": "BKN"})) == []

    def test_filters_combine(self, keys, dated):
        found = keys["helpdesk"].get("/api/v1/orders",
                                     {"channel": "phone", "q": SHOPPERS["checkout"]["name"]})
        assert ids(found) == []

    @pytest.mark.parametrize("params, code, field", [
        ({"channel": "fax"}, "invalid_choice", "channel"),
        ({"customer": "ana"}, "invalid", "customer"),
        ({"customer": ""}, "invalid", "customer"),
        ({"placed_after": "yesterday"}, "invalid", "placed_after"),
        ({"placed_before": "2026-13-01T00:00:00Z"}, "invalid", "placed_before"),
        ({"cursor": "not-a-cursor"}, "invalid_cursor", "cursor"),
        ({"cursor": "WyJ4IiwxXQ"}, "invalid_cursor", "cursor"),  # ["x",1]: ours in shape only
        ({"cursor": encode_cursor("2026-13-01T00:00:00+00:00", 1)}, "invalid_cursor", "cursor"),
        ({"cursor": encode_cursor("2026-11-01T00:00:00", 1)}, "invalid_cursor", "cursor"),  # naive
        ({"q": "x" * 201}, "max_length", "q"),
        ({"chanel": "web"}, "unknown_parameter", "chanel"),  # a typo never widens the answer
    ])
    def test_a_bad_parameter_is_422_naming_it(self, keys, dated, params, code, field):
        response = keys["helpdesk"].get("/api/v1/orders", params)
        assert response.status_code == 422
        error = response.json()["errors"][0]
        assert (error["code"], error["field"]) == (code, field)


class TestPagination:
    @pytest.fixture
    def many(self, keys, monkeypatch):
        """Eleven orders, three pairs placed at the very same instant."""
        monkeypatch.setattr(selectors, "API_PAGE_SIZE", 3)
        placed = [post_order(keys["pieline"], simple_order(), key=f"o{n}").json()["id"] for n in range(11)]
        for n, order_id in enumerate(placed):
            place_at(order_id, T0 + timedelta(minutes=n // 2))  # 0,0,1,1,2,2,...
        return placed

    def walk(self, api, params=None):
        pages, cursor = [], None
        while True:
            page = {"cursor": cursor} if cursor else {}
            body = api.get("/api/v1/orders", {**(params or {}), **page}).json()
            pages.append([order["id"] for order in body["orders"]])
            cursor = body["next"]
            if cursor is None:
                return pages

    def test_pages_cover_every_order_once_newest_first(self, keys, many):
        pages = self.walk(keys["pieline"])

        assert [len(page) for page in pages] == [3, 3, 3, 2]
        walked = [order_id for page in pages for order_id in page]
        expected = sorted(many, key=lambda pk: (Order.objects.get(pk=pk).placed_at, pk), reverse=True)
        assert walked == expected

    def test_an_order_placed_while_paging_neither_repeats_nor_hides_one(self, keys, many):
        first = keys["pieline"].get("/api/v1/orders").json()
        post_order(keys["pieline"], simple_order(), key="late")  # newer than all: on no later page
        rest = []
        cursor = first["next"]
        while cursor:
            body = keys["pieline"].get("/api/v1/orders", {"cursor": cursor}).json()
            rest += [order["id"] for order in body["orders"]]
            cursor = body["next"]
        walked = [order["id"] for order in first["orders"]] + rest
        assert sorted(walked) == sorted(many) and len(set(walked)) == len(walked)

    def test_pages_filter_like_the_first(self, keys, many, world):
        pages = self.walk(keys["helpdesk"], {"channel": "phone"})
        walked = [order_id for page in pages for order_id in page]
        assert sorted(walked) == sorted([*many, world["pieline"]["id"], world["callhero"]["id"]])


def test_a_page_is_built_in_a_constant_number_of_queries(keys, world, monkeypatch):
    def queries_for_a_page():
        with CaptureQueriesContext(connection) as captured:
            assert keys["helpdesk"].get("/api/v1/orders").status_code == 200
        return len(captured)

    monkeypatch.setattr(selectors, "API_PAGE_SIZE", 50)
    queries_for_a_page()  # the key is now remembered
    few = queries_for_a_page()
    for n in range(12):
        body = simple_order(quantity=1, customer={"name": f"S{n}", "phone": f"+1510555{n:04d}"})
        body["lines"].append({"sku": "TACO", "quantity": 2})
        post_order(keys["pieline"], body, key=f"more-{n}")
    assert Order.objects.count() == 15
    assert queries_for_a_page() == few
