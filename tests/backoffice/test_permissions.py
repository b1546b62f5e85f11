"""Every role against every back-office page and action: the whole permission table in one place.

A store manager works at OAK only; BKN is another store. 302 on a POST is the action done
(it redirects back to its page); 302 for an anonymous visitor is the way to /login/."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from apps.core.enums import ApiRole
from apps.core.models import ExceptionItem
from apps.core.services import open_exception
from apps.customers.models import Customer
from apps.customers.services import merge_customers
from apps.orders.models import Order
from apps.returns.services import refund_order
from tests.backoffice.conftest import PASSWORD, customer_sale, record_sale
from tests.helpers import post_order, simple_order
from tests.returns.conftest import register_sale

pytestmark = pytest.mark.django_db

GETS = ["/", "/stock/", "/stock/OAK/BURRITO/", "/stock/BKN/BURRITO/", "/orders/", "/orders/{oak_order}/",
        "/orders/{bkn_order}/", "/orders/{oak_order}/timeline/", "/orders/{bkn_order}/timeline/",
        "/exceptions/", "/exceptions/{oak_exception}/", "/exceptions/{bkn_exception}/",
        "/customers/", "/customers/{oak_customer}/", "/customers/{bkn_customer}/",
        "/customers/{oak_customer}/merge/?other={bkn_customer}", "/customers/merges/{merge}/",
        "/orders/{oak_order}/refunds/", "/orders/{bkn_order}/refunds/", "/orders/{oak_order}/refunds/new/",
        "/orders/{bkn_order}/refunds/new/", "/cash-drawers/"]
REFUND_FORMS = ["/orders/{oak_order}/refunds/new/", "/orders/{bkn_order}/refunds/new/"]
POSTS = [
    ("/stock/OAK/BURRITO/", {"action": "change", "kind": "delta", "quantity": "1", "note": "found one"}),
    ("/stock/BKN/BURRITO/", {"action": "86"}),
    ("/orders/{oak_order}/ready/", {}),
    ("/orders/{bkn_order}/cancel/", {"reason": "test"}),
    ("/exceptions/{oak_exception}/", {"action": "resolve", "reason": "done"}),
    ("/exceptions/{bkn_exception}/", {"action": "ignore", "reason": "noise"}),
    ("/customers/{oak_customer}/merge/", {"other": "{bkn_customer}"}),
    ("/customers/merges/{merge}/undo/", {}),
    ("/orders/{paid_oak_order}/refunds/new/", {"step": "confirm", "kind": "amount", "amount": "1.00",
                                               "return_location": "OAK", "reason": "goodwill",
                                               "token": "t1"}),
    ("/exceptions/{oak_approval}/", {"action": "approve"}),
    ("/exceptions/{bkn_approval}/", {"action": "reject", "reason": "outside the policy"}),
    ("/exceptions/{oak_manual_refund}/", {"action": "mark_refunded", "reference": "toast-receipt-1"}),
    ("/cash-drawers/", {"location": "OAK", "business_day": "2020-01-06", "counted": "212.50"}),
]
CUSTOMER_MERGING = ["/customers/{oak_customer}/merge/?other={bkn_customer}", "/customers/merges/{merge}/"]
OK, DONE, DENIED, TO_LOGIN = 200, 302, 403, 302

EXPECTED = {
    "anonymous": {**dict.fromkeys(GETS, TO_LOGIN), **{f"POST {path}": TO_LOGIN for path, _ in POSTS}},
    "no role": {**dict.fromkeys(GETS, DENIED), **{f"POST {path}": DENIED for path, _ in POSTS}},
    "store_manager": {
        "/": OK, "/stock/": OK, "/stock/OAK/BURRITO/": OK, "/stock/BKN/BURRITO/": DENIED, "/orders/": OK,
        "/orders/{oak_order}/": OK, "/orders/{bkn_order}/": DENIED, "/orders/{oak_order}/timeline/": OK,
        "/orders/{bkn_order}/timeline/": DENIED, "/exceptions/": OK, "/exceptions/{oak_exception}/": OK,
        "/exceptions/{bkn_exception}/": DENIED, "/customers/": OK, "/customers/{oak_customer}/": OK,
        "/customers/{bkn_customer}/": DENIED, **dict.fromkeys(CUSTOMER_MERGING, DENIED),
        "POST /customers/{oak_customer}/merge/": DENIED, "POST /customers/merges/{merge}/undo/": DENIED,
        "POST /stock/OAK/BURRITO/": DONE, "POST /stock/BKN/BURRITO/": DENIED,
        "POST /orders/{oak_order}/ready/": DONE, "POST /orders/{bkn_order}/cancel/": DENIED,
        "POST /exceptions/{oak_exception}/": DONE, "POST /exceptions/{bkn_exception}/": DENIED,
        "/orders/{oak_order}/refunds/": OK, "/orders/{bkn_order}/refunds/": DENIED,
        **dict.fromkeys(REFUND_FORMS, DENIED), "POST /orders/{paid_oak_order}/refunds/new/": DENIED,
        "POST /exceptions/{oak_approval}/": DONE, "POST /exceptions/{bkn_approval}/": DENIED,
        "POST /exceptions/{oak_manual_refund}/": DONE, "/cash-drawers/": OK, "POST /cash-drawers/": DONE,
    },
    "customer_service": {
        **dict.fromkeys(GETS, OK),
        "POST /stock/OAK/BURRITO/": DENIED, "POST /stock/BKN/BURRITO/": DENIED,
        "POST /orders/{oak_order}/ready/": DONE, "POST /orders/{bkn_order}/cancel/": DONE,
        "POST /exceptions/{oak_exception}/": DONE, "POST /exceptions/{bkn_exception}/": DONE,
        "POST /customers/{oak_customer}/merge/": DONE, "POST /customers/merges/{merge}/undo/": DONE,
        "POST /orders/{paid_oak_order}/refunds/new/": DONE, "POST /exceptions/{oak_approval}/": DENIED,
        "POST /exceptions/{bkn_approval}/": DENIED, "POST /exceptions/{oak_manual_refund}/": DONE,
        "/cash-drawers/": DENIED, "POST /cash-drawers/": DENIED,
    },
    "finance": {
        **dict.fromkeys(GETS, OK), "/exceptions/": DENIED, "/exceptions/{oak_exception}/": DENIED,
        "/exceptions/{bkn_exception}/": DENIED, **dict.fromkeys(CUSTOMER_MERGING, DENIED),
        **dict.fromkeys(REFUND_FORMS, DENIED), **{f"POST {path}": DENIED for path, _ in POSTS},
    },
    "admin": {**dict.fromkeys(GETS, OK), **{f"POST {path}": DONE for path, _ in POSTS}},
}


@pytest.fixture
def world(stores, phone):
    response = post_order(phone, simple_order(customer={"name": "Oak Regular", "email": "oak@example.com"}),
                          key="oak-1")
    assert response.status_code == 201
    bkn_order = record_sale("BKN", channel="web", external_id="web-1", fulfilled=False)
    twins = [Customer.objects.create(name=f"Twin {n}") for n in (1, 2)]
    return {
        "oak_order": response.json()["id"], "bkn_order": bkn_order.pk,
        "oak_customer": Order.objects.get(pk=response.json()["id"]).customer_id,
        "bkn_customer": customer_sale("BKN", external_id="web-2", email="bkn@example.com").customer_id,
        "merge": merge_customers(survivor_id=twins[0].pk, other_id=twins[1].pk).pk,
        "oak_exception": open_exception(kind="oversold", title="OAK", location_code="OAK", dedupe_key="o").pk,
        "bkn_exception": open_exception(kind="oversold", title="BKN", location_code="BKN", dedupe_key="b").pk,
        "paid_oak_order": register_sale(external_id="paid-oak").pk, **refund_exceptions(),
    }


def refund_exceptions() -> dict:
    """A customer-service refund waiting for approval at each store, and a Toast card refund
    at OAK waiting for staff to refund it at the POS."""
    big_oak = register_sale(external_id="big-oak", quantity=80)  # 30,000: above the limit
    big_bkn = card_sale_at("BKN", external_id="big-bkn", burritos=30)  # 28,500
    waiting = [refund_order(order_id=order.pk, amount=21_000, actor="sam",
                            actor_role=ApiRole.CUSTOMER_SERVICE) for order in (big_oak, big_bkn)]
    toast = register_sale(external_id="toast-oak", platform="toast", source_name="Toast")
    manual = refund_order(order_id=toast.pk, amount=300, actor="sam").parts.get()
    return {"oak_approval": _exception_of("refund-approval", waiting[0].pk),
            "bkn_approval": _exception_of("refund-approval", waiting[1].pk),
            "oak_manual_refund": _exception_of("refund-part", manual.pk)}


def card_sale_at(location_code: str, *, external_id: str, burritos: int, platform: str = "square") -> Order:
    """A register sale of burritos (950 each) paid by card at `platform`, as its connector records it."""
    from django.utils import timezone

    from apps.orders import services

    card = services.TenderFact(type="card", amount=950 * burritos, platform=platform,
                               reference=f"pay-{external_id}", status="paid")
    order, _ = services.record_external_order(order=services.ExternalOrderInput(
        channel="register", source_name=platform.capitalize(), external_id=external_id,
        location_code=location_code, lines=(services.LineInput("BURRITO", burritos),),
        placed_at=timezone.now(), fulfillment_type="in_store", already_fulfilled=True, platform=platform,
        tenders=(card,)))
    return order


def _exception_of(key: str, pk: int) -> int:
    return ExceptionItem.objects.get(dedupe_key=f"{key}:{pk}").pk


def client_for(role: str, make_staff) -> Client:
    client = Client()
    if role == "anonymous":
        return client
    if role == "no role":
        user = get_user_model().objects.create_user(username="nobody", password=PASSWORD)
    else:
        user = make_staff(role, *(["OAK"] if role == "store_manager" else []))
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", list(EXPECTED))
def test_each_role_on_each_page_and_action(world, make_staff, role):
    client = client_for(role, make_staff)
    seen = {path: client.get(path.format(**world)).status_code for path in GETS}
    for path, data in POSTS:
        filled = {name: value.format(**world) for name, value in data.items()}
        seen[f"POST {path}"] = client.post(path.format(**world), filled).status_code
    assert seen == EXPECTED[role]


def test_anonymous_visitors_are_sent_to_sign_in_with_the_page_to_come_back_to(world):
    response = Client().get(f"/orders/{world['oak_order']}/")
    assert response["Location"] == f"/login/?next=/orders/{world['oak_order']}/"
