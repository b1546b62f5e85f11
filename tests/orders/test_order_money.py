"""Orders carry real money: tax per line, discounts by largest remainder, tenders that add
up (card, cash, gift card, store credit, loyalty, pay at pickup), and loyalty earned once."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.customers.models import LoyaltyAccount, LoyaltyEntry, StoredValueAccount, StoredValueEntry
from apps.customers.services import adjust_points, issue_gift_card, issue_store_credit, match_customer
from apps.orders.models import Order, OrderLine, Payment
from apps.orders.selectors import get_order, order_document
from tests.helpers import levels, post_order, row_counts, simple_order

EMAIL = "ana@example.com"


def usd(amount):
    return {"amount": amount, "currency": "USD"}


@pytest.fixture
def ana(db):
    """A known customer with 500 points and a $10 gift card."""
    customer = match_customer(name="Ana Ruiz", email=EMAIL)
    adjust_points(customer_id=customer.pk, points=500, reason="welcome")
    card = issue_gift_card(amount=1000, currency="USD")
    return type("Ana", (), {"customer": customer, "card": card})


def with_customer(body, email=EMAIL):
    return {**body, "customer": {"name": "Ana Ruiz", "email": email}}


def balances(ana):
    return (LoyaltyAccount.objects.get(customer=ana.customer).balance,
            StoredValueAccount.objects.get(pk=ana.card.pk).balance)


def ledgers():
    return LoyaltyEntry.objects.count(), StoredValueEntry.objects.count()


class TestTax:
    def test_tax_is_per_line_at_the_location_rate_and_exempt_categories_pay_none(self, taxed, phone):
        body = simple_order(quantity=2)
        body["lines"].append({"sku": "SALSA-JAR", "quantity": 1})

        response = post_order(phone, body)

        assert response.status_code == 201, response.json()
        order = response.json()
        # 1900 * 10.25% = 194.75 -> 195; the salsa jar is groceries: 0
        assert [line["tax"]["amount"] for line in order["lines"]] == [195, 0]
        assert [line["tax_rate_bps"] for line in order["lines"]] == [1025, 0]
        assert (order["subtotal"], order["tax"], order["total"]) == (usd(2799), usd(195), usd(2994))
        assert Order.objects.get().tax_amount == 195

    def test_expected_total_compares_with_the_taxed_total(self, taxed, phone):
        response = post_order(phone, {**simple_order(quantity=2), "expected_total": usd(1900)})

        assert response.status_code == 409
        assert response.json()["errors"][0]["current_total"] == usd(2095)

    def test_a_location_without_a_rate_charges_no_tax(self, shop, phone):
        response = post_order(phone, simple_order(quantity=2))
        assert response.json()["tax"] == usd(0)
        assert response.json()["total"] == usd(1900)


class TestDiscounts:
    def test_line_and_order_discounts_are_allocated_by_largest_remainder_then_taxed(self, taxed, phone):
        body = simple_order()
        body["lines"] = [
            {"sku": "BURRITO", "quantity": 2, "discounts": [{"percent_bps": 1000}]},
            {"sku": "TACO", "quantity": 3, "discounts": [{"amount": usd(125)}]},
        ]
        body["discounts"] = [{"amount": usd(500)}]

        response = post_order(phone, body)

        assert response.status_code == 201, response.json()
        order = response.json()
        # own discounts 190 and 125 leave 1710 and 1000; the 500 splits 315.5/184.5, and the
        # leftover cent goes to the larger remainder (the taco): 315 and 185
        assert [line["discount"]["amount"] for line in order["lines"]] == [505, 310]
        assert [line["net"]["amount"] for line in order["lines"]] == [1395, 815]
        assert [line["tax"]["amount"] for line in order["lines"]] == [143, 84]  # 142.99, 83.54
        assert order["discount"] == usd(815)
        assert order["total"] == usd(3025 - 815 + 227)
        stored = list(OrderLine.objects.values_list("line_total", "discount_amount", "net_amount",
                                                   "tax_amount"))
        assert stored == [(1900, 505, 1395, 143), (1125, 310, 815, 84)]

    def test_a_discount_larger_than_the_order_leaves_it_free_never_negative(self, shop, phone):
        response = post_order(phone, {**simple_order(), "discounts": [{"amount": usd(5000)}]})

        assert response.status_code == 201, response.json()
        assert response.json()["total"] == usd(0)
        assert response.json()["lines"][0]["net"] == usd(0)

    def test_a_discount_names_an_amount_or_a_percentage(self, shop, phone):
        before = row_counts()
        body = {**simple_order(), "discounts": [{"amount": usd(100), "percent_bps": 500}]}
        response = post_order(phone, body)

        assert response.status_code == 422
        assert row_counts() == before

    def test_a_discount_in_another_currency_is_refused(self, shop, phone):
        body = {**simple_order(), "discounts": [{"amount": {"amount": 100, "currency": "EUR"}}]}
        response = post_order(phone, body)

        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "discounts[0].amount.currency"


class TestTenders:
    def test_card_gift_card_and_loyalty_pay_one_order(self, shop, phone, ana):
        body = with_customer(simple_order(quantity=2))
        body["tenders"] = [
            {"type": "gift_card", "code": ana.card.code, "amount": usd(1000)},
            {"type": "loyalty", "points": 300},
            {"type": "card", "amount": usd(600), "tip": usd(200), "reference": "pay_123"},
        ]

        response = post_order(phone, body)

        assert response.status_code == 201, response.json()
        order = response.json()
        assert [(t["type"], t["amount"]["amount"], t["status"]) for t in order["tenders"]] == [
            ("gift_card", 1000, "paid"), ("loyalty", 300, "paid"), ("card", 600, "paid")]
        assert order["tenders"][2]["tip"] == usd(200)
        assert order["tenders"][2]["reference"] == "pay_123"
        assert order["tenders"][0]["reference"] == f"…{ana.card.code[-4:]}"
        assert order["tip"] == usd(200)
        assert order["total"] == usd(1900)
        # earned on 1900 less the 300 paid in points: 16 points
        assert order["loyalty"] == {"earned_points": 16, "redeemed_points": 300}
        assert order["customer"]["id"] == ana.customer.pk
        assert balances(ana) == (500 - 300 + 16, 0)
        assert Payment.objects.get(tender_type="gift_card").stored_value_account_id == ana.card.pk

    def test_tenders_that_do_not_add_up_are_422_and_leave_nothing(self, shop, phone):
        before, stock_before = row_counts(), levels()
        body = {**simple_order(quantity=2), "tenders": [{"type": "card", "amount": usd(1000)},
                                                        {"type": "cash", "amount": usd(500)}]}
        response = post_order(phone, body)

        assert response.status_code == 422
        error = response.json()["errors"][0]
        assert (error["code"], error["field"]) == ("tenders_mismatch", "tenders")
        assert (error["total"], error["tendered"]) == (usd(1900), usd(1500))
        assert row_counts() == before
        assert levels() == stock_before

    def test_a_gift_card_beyond_its_balance_is_409_and_leaves_nothing_behind(self, shop, phone, ana):
        before, stock_before, ledgers_before = row_counts(), levels(), ledgers()
        body = with_customer(simple_order(quantity=2))
        body["tenders"] = [{"type": "loyalty", "points": 100},
                           {"type": "gift_card", "code": ana.card.code, "amount": usd(1500)},
                           {"type": "card", "amount": usd(300)}]

        response = post_order(phone, body)

        assert response.status_code == 409
        error = response.json()["errors"][0]
        assert (error["code"], error["field"]) == ("insufficient_balance", "tenders[1].amount")
        assert (error["requested"], error["available"]) == (1500, 1000)
        assert row_counts() == before  # no order, lines, payments, ledger, outbox, key, customer
        assert levels() == stock_before  # no reservation
        assert ledgers() == ledgers_before
        assert balances(ana) == (500, 1000)  # neither the card nor the points moved

    def test_points_beyond_the_balance_are_409_naming_the_points(self, shop, phone, ana):
        before = row_counts()
        body = with_customer(simple_order(quantity=2))
        body["tenders"] = [{"type": "loyalty", "points": 600}, {"type": "pay_at_pickup"}]

        response = post_order(phone, body)

        assert response.status_code == 409
        assert response.json()["errors"][0]["field"] == "tenders[0].points"
        assert row_counts() == before
        assert balances(ana) == (500, 1000)

    def test_a_replayed_request_redeems_once(self, shop, phone, ana):
        body = with_customer(simple_order(quantity=2))
        body["tenders"] = [{"type": "gift_card", "code": ana.card.code, "amount": usd(400)},
                           {"type": "cash", "amount": usd(1500)}]

        first = post_order(phone, body, key="once")
        again = post_order(phone, body, key="once")

        assert first.status_code == again.status_code == 201
        assert again["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
        assert balances(ana)[1] == 600
        assert StoredValueEntry.objects.filter(kind="redeem").count() == 1
        assert LoyaltyEntry.objects.filter(kind="earn").count() == 1

    def test_store_credit_and_loyalty_need_a_customer(self, shop, phone):
        before = row_counts()
        body = {**simple_order(), "tenders": [{"type": "store_credit", "amount": usd(950)}]}

        response = post_order(phone, body)

        assert response.status_code == 422
        error = response.json()["errors"][0]
        assert (error["code"], error["field"]) == ("customer_required", "tenders[0]")
        assert row_counts() == before

    def test_store_credit_pays_from_the_customers_balance(self, shop, phone, ana):
        issue_store_credit(customer_id=ana.customer.pk, amount=700, currency="USD")
        body = with_customer(simple_order())
        body["tenders"] = [{"type": "store_credit", "amount": usd(700)},
                           {"type": "card", "amount": usd(250)}]

        response = post_order(phone, body)

        assert response.status_code == 201, response.json()
        credit = StoredValueAccount.objects.get(kind="store_credit", customer=ana.customer)
        assert credit.balance == 0

    def test_an_unknown_gift_card_code_is_a_field_error(self, shop, phone):
        body = {**simple_order(), "tenders": [{"type": "gift_card", "code": "NOPE", "amount": usd(950)}]}
        response = post_order(phone, body)

        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "tenders[0].code"

    def test_the_one_tender_stays_valid_and_pays_the_whole_total(self, taxed, phone):
        response = post_order(phone, {**simple_order(), "tender": {"type": "card", "reference": "p1"}})

        assert response.status_code == 201, response.json()
        tender = response.json()["tenders"][0]
        assert (tender["type"], tender["amount"], tender["status"]) == ("card", usd(1047), "paid")

    def test_pay_at_pickup_is_the_remainder_paid_and_earning_when_fulfilled(self, shop, phone, ana):
        body = with_customer(simple_order(quantity=2))
        body["tenders"] = [{"type": "gift_card", "code": ana.card.code, "amount": usd(1000)},
                           {"type": "pay_at_pickup"}]

        placed = post_order(phone, body).json()

        assert [(t["type"], t["amount"]["amount"], t["status"]) for t in placed["tenders"]] == [
            ("gift_card", 1000, "paid"), ("pay_at_pickup", 900, "pending")]
        assert placed["loyalty"]["earned_points"] == 0
        assert placed["refundable"] == usd(1000)

        fulfilled = phone.post(f"/api/v1/orders/{placed['id']}/fulfill", HTTP_IDEMPOTENCY_KEY="f1").json()

        assert [t["status"] for t in fulfilled["tenders"]] == ["paid", "paid"]
        assert fulfilled["loyalty"]["earned_points"] == 19
        assert balances(ana) == (519, 0)

    def test_canceling_gives_back_the_gift_card_and_points(self, shop, phone, ana):
        body = with_customer(simple_order(quantity=2))
        body["tenders"] = [{"type": "gift_card", "code": ana.card.code, "amount": usd(1000)},
                           {"type": "loyalty", "points": 400}, {"type": "cash", "amount": usd(500)}]
        placed = post_order(phone, body).json()
        assert balances(ana) == (500 - 400 + 15, 0)

        canceled = phone.post(f"/api/v1/orders/{placed['id']}/cancel", HTTP_IDEMPOTENCY_KEY="c1").json()

        assert canceled["status"] == "canceled"
        assert balances(ana) == (500, 1000)
        assert [t["status"] for t in canceled["tenders"]] == ["voided", "voided", "paid"]


class TestOrderDocument:
    def test_the_document_has_lines_numbered_refunds_and_loyalty(self, taxed, phone):
        body = simple_order(quantity=2)
        body["lines"].append({"sku": "TACO", "quantity": 1})
        order = post_order(phone, body).json()

        assert [line["line"] for line in order["lines"]] == [1, 2]
        assert [line["refunded_quantity"] for line in order["lines"]] == [0, 0]
        assert order["refunded"] == usd(0)
        assert order["refundable"] == usd(0)  # nothing taken yet: it is paid at pickup
        assert order["customer"] is None
        assert order["contact"] == {"name": "", "phone": "", "email": ""}
        assert order["loyalty"] == {"earned_points": 0, "redeemed_points": 0}
        assert order["tenders"] == [{"type": "pay_at_pickup", "status": "pending",
                                     "amount": order["total"], "platform": "", "reference": "",
                                     "tip": usd(0), "processing_fee": usd(0)}]

    def test_reading_an_order_back_gives_the_same_document(self, taxed, phone, ana):
        body = with_customer(simple_order(quantity=2))
        body["tenders"] = [{"type": "loyalty", "points": 100}, {"type": "pay_at_pickup"}]
        placed = post_order(phone, body).json()

        assert phone.get(f"/api/v1/orders/{placed['id']}").json() == placed

    def test_the_document_reads_no_more_than_the_prefetched_rows(self, taxed, phone):
        order_id = post_order(phone, simple_order()).json()["id"]
        order = get_order(order_id)
        with CaptureQueriesContext(connection) as queries:
            order_document(order)
        assert len(queries) == 0


class TestQueries:
    def test_an_order_without_customer_or_stored_value_adds_no_round_trip(self, taxed, phone):
        post_order(phone, simple_order(), key="warm")
        with CaptureQueriesContext(connection) as plain:
            post_order(phone, simple_order(), key="plain")
        with CaptureQueriesContext(connection) as taxed_and_tendered:
            # 1900 - 5% = 1805, tax 185.01 -> 185: 1990
            body = {**simple_order(quantity=2), "discounts": [{"percent_bps": 500}],
                    "tenders": [{"type": "card", "amount": usd(1784)}, {"type": "cash", "amount": usd(206)}]}
            response = post_order(phone, body, key="tendered")
        assert response.status_code == 201, response.json()
        assert len(taxed_and_tendered) == len(plain)
        # key check, claim, variants, order, lines, tenders, outbox, audit, ledger, stock,
        # stored answer (+ the test's savepoint and release): the same as before tenders
        assert len(plain) <= 13, [q["sql"][:80] for q in plain.captured_queries]


class TestPlatformOrders:
    def record(self, **fields):
        from datetime import UTC, datetime

        from apps.orders import services

        order = {"channel": "register", "source_name": "Square Point of Sale", "external_id": "sq-9",
                 "location_code": "OAK", "placed_at": datetime(2026, 11, 24, 18, tzinfo=UTC),
                 "fulfillment_type": "in_store", "already_fulfilled": True,
                 "lines": (services.LineInput("BURRITO", 2), services.LineInput("TACO", 1, discount=75)),
                 **fields}
        return services.record_external_order(order=services.ExternalOrderInput(**order))

    def test_the_platforms_tax_discounts_and_tenders_are_kept_as_it_computed_them(self, taxed):
        from apps.orders import services

        order, created = self.record(
            platform="square", discount=100, tax=203, total=1900 + 375 - 75 - 100 + 203 + 500,
            customer=services.CustomerInput(name="Ana", platform_customer_id="SQC-1"),
            tenders=(services.TenderFact(type="card", amount=1803, tip=300, processing_fee=58,
                                         reference="pay-1"),
                     services.TenderFact(type="cash", amount=1000)))

        assert created
        # the order's 100 over 1900 and 300 (after the taco's own 75) is 86.4/13.6: 86 and 14;
        # not the location's 10.25% but the platform's 203, over the nets 1814/286: 175 and 28
        lines = list(order.lines.values_list("discount_amount", "net_amount", "tax_amount"))
        assert lines == [(86, 1814, 175), (89, 286, 28)]
        assert (order.subtotal_amount, order.discount_amount, order.tax_amount) == (2275, 175, 203)
        assert order.adjustment_amount == 500  # shipping, service charges: beyond the lines
        assert order.total_amount == 2803
        assert order.tip_amount == 300
        payments = list(order.payments.values_list("tender_type", "amount", "tip_amount",
                                                   "processing_fee_amount", "platform", "reference"))
        assert payments == [("card", 1803, 300, 58, "square", "pay-1"),
                            ("cash", 1000, 0, 0, "square", "sq-9")]
        assert order.customer.external_ids.get().external_id == "SQC-1"
        # a paid sale earns its customer points, once: on 2275 - 175
        assert order.loyalty_points_earned == 21

    def test_without_figures_a_platform_order_is_recorded_as_before(self, taxed):
        from apps.orders import services

        order, _ = self.record(lines=(services.LineInput("BURRITO", 2),))

        assert (order.tax_amount, order.discount_amount, order.adjustment_amount) == (0, 0, 0)
        assert order.total_amount == 1900
        payment = order.payments.get()
        assert (payment.tender_type, payment.amount, payment.platform) == (
            "external", 1900, "Square Point of Sale")
