"""The back-office pages take as many SQL queries showing fifty rows as showing a few: no
query per order, line, tender, stock level or exception (counts, not time)."""

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from apps.demo import volume
from apps.orders.models import Order

STORES = ["OAK", "BKN", "CHI"]


def queries(client, url: str) -> tuple[int, object]:
    client.get(url)  # the per-process caches (locations, roles) warm, as in a running server
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured), response


def rows(response) -> int:
    return len(response.context["page"].object_list)


@pytest.fixture
def demo(db):
    call_command("seed_demo", stdout=io.StringIO())


def test_list_pages_take_the_same_queries_for_fifty_rows_as_for_a_few(demo, signed_in):
    client = signed_in("admin")
    volume.seed_volume(orders=4, location_codes=STORES, days=1, seed=1, exception_rate=1.0)
    pages = ["/", "/orders/", "/orders/?status=fulfilled", "/exceptions/?status="]
    few = {url: queries(client, url) for url in pages}
    volume.seed_volume(orders=160, location_codes=STORES, days=2, seed=2, exception_rate=0.5)
    many = {url: queries(client, url) for url in pages}

    for url in ["/orders/", "/orders/?status=fulfilled", "/exceptions/?status="]:
        assert 0 < rows(few[url][1]) < 5 and rows(many[url][1]) == 50, url
    assert {url: count for url, (count, _) in many.items()} == {url: count for url, (count, _) in few.items()}


def test_the_stock_page_takes_the_same_queries_for_fifty_levels_as_for_three(demo, signed_in):
    client = signed_in("admin")
    three, page_of_three = queries(client, "/stock/?q=TACO-ASADA")
    fifty, page_of_fifty = queries(client, "/stock/")
    assert (rows(page_of_three), rows(page_of_fifty)) == (3, 50)
    assert fifty == three


def test_an_order_page_takes_the_same_queries_whatever_its_lines_tenders_and_history(demo, signed_in):
    client = signed_in("admin")
    volume.seed_volume(orders=300, location_codes=STORES, days=3, seed=3)
    orders = Order.objects.filter(channel="web").annotate(n_lines=Count("lines", distinct=True),
                                                         n_tenders=Count("payments", distinct=True))
    small = orders.filter(n_lines=1, n_tenders=1, refunds=None).first()
    large = orders.filter(n_lines__gte=3, n_tenders__gte=2).first() or orders.filter(n_lines__gte=4).first()
    assert small is not None and large is not None
    for page in ["/orders/{}/", "/orders/{}/timeline/"]:
        assert queries(client, page.format(large.pk))[0] == queries(client, page.format(small.pk))[0], page
