"""The connectors' money readers on recorded payloads (shapes from PLATFORM_MONEY §1-§4 and
its sources' examples), through a client that answers from those payloads: each payment,
refund and payout is recorded once, linked to our tender, and a second read repeats nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from apps.connectors.models import PlatformConnection
from apps.connectors.platforms import connector_platform
from apps.orders import services as orders
from apps.orders.enums import PaymentStatus
from apps.reports.models import Payout, PayoutEntry, ProcessorRecord

SOLD_AT = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)


class RecordedClient:
    """Answers GETs from {path: [pages]} (a page per call, the last one repeated); records calls."""

    def __init__(self, pages: dict[str, list]):
        self.pages = pages
        self.calls: list[tuple[str, dict]] = []
        self.served: dict[str, int] = {}

    def request_json(self, method, path, params=None, **kwargs):
        self.calls.append((path, dict(params or {})))
        pages = self.pages.get(path)
        if pages is None:
            raise AssertionError(f"unexpected call {method} {path}")
        index = self.served.get(path, 0)
        self.served[path] = index + 1
        return pages[min(index, len(pages) - 1)]

    def admin_path(self, tail):
        return f"/admin/api/2026-04/{tail}"

    def _path(self, tail):
        return f"/v3/merchants/M1/{tail}"

    def reset(self):
        self.served.clear()


def sale(*, platform, reference, amount=1125, tip=0, external_id=None):
    order, _ = orders.record_external_order(
        order=orders.ExternalOrderInput(
            channel="register",
            source_name=platform.title(),
            external_id=external_id or f"sale-{reference}",
            location_code="OAK",
            lines=(orders.LineInput("TACO", 3),),
            placed_at=SOLD_AT,
            fulfillment_type="in_store",
            already_fulfilled=True,
            platform=platform,
            tenders=(
                orders.TenderFact(
                    type="card",
                    amount=amount,
                    tip=tip,
                    platform=platform,
                    reference=reference,
                    status=PaymentStatus.PAID,
                ),
            ),
        )
    )
    return order.payments.get()


@pytest.fixture(autouse=True)
def configured(settings):
    """The platforms' settings present, so their connections count as active."""
    from apps.demo import dev_credentials

    for name, value in dev_credentials.SECRETS.items():
        setattr(settings, name, value)
    settings.SQUARE_WEBHOOK_URL = "http://concord.test/webhooks/square/"
    for name in ("SHOPIFY_BASE_URL", "SQUARE_BASE_URL", "TOAST_BASE_URL", "CLOVER_BASE_URL"):
        setattr(settings, name, "http://127.0.0.1:9")  # never called: the clients here are recorded


def connect(shop, platform, external_id):
    return PlatformConnection.objects.create(
        platform=platform, location=shop.oak, external_location_id=external_id
    )


# ---------------------------------------------------------------- Square


def square_payment(payment_id, *, amount=1125, tip=200, fees=(), status="COMPLETED"):
    return {
        "id": payment_id,
        "created_at": "2026-11-24T18:00:01.000Z",
        "updated_at": "2026-11-24T18:00:02Z",
        "status": status,
        "source_type": "CARD",
        "location_id": "L1",
        "order_id": f"o-{payment_id}",
        "amount_money": {"amount": amount, "currency": "USD"},
        "tip_money": {"amount": tip, "currency": "USD"},
        "total_money": {"amount": amount + tip, "currency": "USD"},
        "processing_fee": [
            {
                "effective_at": "2026-11-24T20:00:00Z",
                "type": "INITIAL",
                "amount_money": {"amount": fee, "currency": "USD"},
            }
            for fee in fees
        ],
        "card_details": {"status": "CAPTURED", "card": {"card_brand": "VISA", "last_4": "1111"}},
    }


SQUARE_REFUND = {
    "id": "rf-1",
    "status": "COMPLETED",
    "payment_id": "pay-1",
    "order_id": "return-order-1",
    "location_id": "L1",
    "created_at": "2026-11-25T01:00:00Z",
    "amount_money": {"amount": 50, "currency": "USD"},
    "processing_fee": [{"type": "INITIAL", "amount_money": {"amount": -2, "currency": "USD"}}],
}
# The payout examples write Money as {amount, currency_code} (PLATFORM_MONEY §4.1, spec quirk).
SQUARE_PAYOUT = {
    "id": "po-1",
    "location_id": "L1",
    "status": "SENT",
    "type": "BATCH",
    "created_at": "2026-11-25T09:00:00Z",
    "arrival_date": "2026-11-26",
    "end_to_end_id": "E2E-9",
    "amount_money": {"amount": 1306, "currency_code": "USD"},
    "payout_fee": [{"type": "TRANSFER_FEE", "amount_money": {"amount": 0, "currency_code": "USD"}}],
}
SQUARE_ENTRIES = [
    {
        "id": "pe-1",
        "payout_id": "po-1",
        "effective_at": "2026-11-24T20:00:00Z",
        "type": "CHARGE",
        "gross_amount_money": {"amount": 1325, "currency_code": "USD"},
        "fee_amount_money": {"amount": 46, "currency_code": "USD"},
        "net_amount_money": {"amount": 1279, "currency_code": "USD"},
        "type_charge_details": {"payment_id": "pay-1"},
    },
    {
        "id": "pe-2",
        "payout_id": "po-1",
        "effective_at": "2026-11-25T01:00:00Z",
        "type": "REFUND",
        "gross_amount_money": {"amount": -50, "currency_code": "USD"},
        "fee_amount_money": {"amount": -2, "currency_code": "USD"},
        "net_amount_money": {"amount": -48, "currency_code": "USD"},
        "type_refund_details": {"payment_id": "pay-1", "refund_id": "rf-1"},
    },
    # An activity type Concord does not name is kept as "other", never refused.
    {
        "id": "pe-3",
        "payout_id": "po-1",
        "effective_at": "2026-11-25T02:00:00Z",
        "type": "SQUARE_CAPITAL_PAYMENT",
        "gross_amount_money": {"amount": 75, "currency_code": "USD"},
        "fee_amount_money": {"amount": 0, "currency_code": "USD"},
        "net_amount_money": {"amount": 75, "currency_code": "USD"},
    },
]


@pytest.fixture
def square(shop, monkeypatch):
    from apps.connectors.square import money

    client = RecordedClient(
        {
            "/v2/payments": [
                {"payments": [square_payment("pay-1")], "cursor": "c2"},
                {"payments": [square_payment("pay-2", amount=700, tip=0)]},
            ],
            "/v2/refunds": [{"refunds": [SQUARE_REFUND]}],
            "/v2/payouts": [{"payouts": [SQUARE_PAYOUT]}],
            "/v2/payouts/po-1/payout-entries": [{"payout_entries": SQUARE_ENTRIES}],
        }
    )
    monkeypatch.setattr(money, "square_client", lambda: client)
    return type("Square", (), {"client": client, "link": connect(shop, "square", "L1"), "money": money})


def test_square_payments_refunds_and_payouts_are_read_linked_and_read_again_without_repeats(square):
    tender = sale(platform="square", reference="pay-1", tip=200)

    found = square.money.read_money(square.link)

    assert found == {"payments": 2, "refunds": 1, "payouts": 1}
    payment = ProcessorRecord.objects.get(platform_id="pay-1")
    assert (payment.amount, payment.tip, payment.gross, payment.fee) == (1125, 200, 1325, 0)
    assert (payment.payment, payment.card_brand, payment.method) == (tender, "VISA", "CARD")
    refund = ProcessorRecord.objects.get(platform_id="rf-1")
    assert (refund.kind, refund.gross, refund.fee, refund.net, refund.payment) == (
        "refund",
        -50,
        -2,
        -48,
        tender,
    )
    payout = Payout.objects.get()
    assert (payout.amount, payout.currency, payout.status) == (1306, "USD", "SENT")
    assert (payout.arrival_date, payout.bank_reference, payout.location) == (
        date(2026, 11, 26),
        "E2E-9",
        square.link.location,
    )
    assert sum(payout.entries.values_list("net", flat=True)) == payout.amount
    charge, refund_line, other = payout.entries.order_by("platform_entry_id")
    assert (charge.entry_type, charge.processor_record, charge.payment) == ("charge", payment, tender)
    assert (refund_line.entry_type, refund_line.processor_record) == ("refund", refund)
    assert (other.entry_type, other.platform_type) == ("other", "SQUARE_CAPITAL_PAYMENT")
    every_call_names_the_location = all(
        params.get("location_id") == "L1"
        for path, params in square.client.calls
        if path in ("/v2/payments", "/v2/refunds", "/v2/payouts")
    )
    assert every_call_names_the_location
    assert (
        "/v2/payments",
        {
            "location_id": "L1",
            "begin_time": square.client.calls[0][1]["begin_time"],
            "sort_order": "ASC",
            "limit": 100,
            "cursor": "c2",
        },
    ) in square.client.calls

    # The fee arrives later and the payout is paid: a second read updates, adds nothing.
    square.client.pages["/v2/payments"] = [{"payments": [square_payment("pay-1", fees=[46])]}]
    square.client.pages["/v2/payouts"] = [{"payouts": [{**SQUARE_PAYOUT, "status": "PAID"}]}]
    square.client.reset()
    square.link.refresh_from_db()
    square.money.read_money(square.link)

    assert (ProcessorRecord.objects.count(), Payout.objects.count(), PayoutEntry.objects.count()) == (3, 1, 3)
    assert ProcessorRecord.objects.get(platform_id="pay-1").net == 1279
    assert Payout.objects.get().status == "PAID"
    assert "money_read_to" in square.link.settings


def test_a_square_payout_webhook_records_the_payout_with_its_entries(square):
    from apps.connectors.square.webhooks import MONEY_TOPICS

    message = {
        "merchant_id": "M",
        "location_id": "L1",
        "type": "payout.paid",
        "event_id": "ev-1",
        "created_at": "2026-11-26T10:00:00Z",
        "data": {"type": "payout", "id": "po-1", "object": {"payout": {**SQUARE_PAYOUT, "status": "PAID"}}},
    }

    outcome = square.money.handle_money_event(message)

    assert "payout.paid" in MONEY_TOPICS
    assert outcome == "payout po-1 recorded (PAID)"
    assert Payout.objects.get().entries.count() == 3


def test_a_square_payment_webhook_records_the_payment(square):
    tender = sale(platform="square", reference="pay-1", tip=200)
    message = {
        "type": "payment.updated",
        "event_id": "ev-2",
        "data": {"type": "payment", "id": "pay-1", "object": {"payment": square_payment("pay-1", fees=[46])}},
    }

    square.money.handle_money_event(message)

    record = ProcessorRecord.objects.get()
    assert (record.payment, record.fee, record.net, record.location) == (
        tender,
        46,
        1279,
        square.link.location,
    )


# ---------------------------------------------------------------- Shopify

# SHOP-PY-shaped transactions: an authorization captured later, a refund of part of it.
SHOPIFY_TRANSACTIONS = [
    {
        "id": 389404469,
        "order_id": 450789469,
        "kind": "authorization",
        "status": "success",
        "amount": "13.25",
        "currency": "USD",
        "gateway": "shopify_payments",
        "created_at": "2026-11-24T10:00:00-08:00",
        "payment_details": {"credit_card_company": "Visa", "credit_card_number": "XXXX-XXXX-XXXX-4242"},
    },
    {
        "id": 389404470,
        "order_id": 450789469,
        "kind": "capture",
        "status": "success",
        "amount": "13.25",
        "currency": "USD",
        "gateway": "shopify_payments",
        "parent_id": 389404469,
        "processed_at": "2026-11-24T10:00:05-08:00",
        "created_at": "2026-11-24T10:00:05-08:00",
        "payment_details": {"credit_card_company": "Visa"},
    },
    {
        "id": 389404471,
        "order_id": 450789469,
        "kind": "refund",
        "status": "success",
        "amount": "3.00",
        "currency": "USD",
        "gateway": "shopify_payments",
        "parent_id": 389404470,
        "processed_at": "2026-11-26T09:00:00-08:00",
        "created_at": "2026-11-26T09:00:00-08:00",
    },
    {
        "id": 389404472,
        "order_id": 450789469,
        "kind": "sale",
        "status": "failure",
        "amount": "13.25",
        "currency": "USD",
        "created_at": "2026-11-24T09:59:00-08:00",
    },
]
SHOPIFY_PAYOUT = {
    "id": 623721858,
    "status": "paid",
    "date": "2026-11-27",
    "currency": "USD",
    "amount": "41.90",
    "summary": {
        "charges_gross_amount": "44.52",
        "charges_fee_amount": "1.32",
        "refunds_gross_amount": "-3.54",
        "refunds_fee_amount": "-0.23",
        "adjustments_gross_amount": "2.13",
        "adjustments_fee_amount": "0.12",
    },
}
SHOPIFY_BALANCE = [
    {
        "id": 1,
        "type": "charge",
        "payout_id": 623721858,
        "payout_status": "paid",
        "currency": "USD",
        "amount": "44.52",
        "fee": "1.32",
        "net": "43.20",
        "source_id": 9,
        "source_type": "charge",
        "source_order_id": 450789469,
        "source_order_transaction_id": 389404470,
        "processed_at": "2026-11-24T10:00:05-08:00",
    },
    {
        "id": 2,
        "type": "refund",
        "payout_id": 623721858,
        "payout_status": "paid",
        "currency": "USD",
        "amount": "-3.54",
        "fee": "-0.23",
        "net": "-3.31",
        "source_id": 10,
        "source_type": "Payments::Refund",
        "source_order_id": 450789469,
        "source_order_transaction_id": 389404471,
        "processed_at": "2026-11-26T09:00:00-08:00",
    },
    # The fixture's adjustment whose net is not amount - fee (PLATFORM_MONEY §4.2): kept as given.
    {
        "id": 3,
        "type": "adjustment",
        "payout_id": 623721858,
        "payout_status": "paid",
        "currency": "USD",
        "amount": "2.13",
        "fee": "0.12",
        "net": "2.24",
        "source_id": 11,
        "source_type": "adjustment",
        "source_order_transaction_id": None,
        "processed_at": "2026-11-26T09:00:00-08:00",
    },
    {
        "id": 4,
        "type": "payout",
        "payout_id": 623721858,
        "payout_status": "paid",
        "currency": "USD",
        "amount": "-41.90",
        "fee": "0.00",
        "net": "-41.90",
        "source_id": 623721858,
        "source_type": "payout",
        "source_order_transaction_id": None,
        "processed_at": "2026-11-27T00:00:00-08:00",
    },
]


@pytest.fixture
def shopify(shop, monkeypatch):
    from apps.connectors.shopify import money

    client = RecordedClient(
        {
            "/admin/api/2026-04/shopify_payments/payouts.json": [{"payouts": [SHOPIFY_PAYOUT]}],
            "/admin/api/2026-04/shopify_payments/balance/transactions.json": [
                {"transactions": SHOPIFY_BALANCE}
            ],
        }
    )
    monkeypatch.setattr(money, "shopify_client", lambda: client)
    return type(
        "Shopify", (), {"client": client, "link": connect(shop, "shopify", "655441491"), "money": money}
    )


def test_shopify_order_transactions_become_processor_records(shopify):
    tender = sale(platform="shopify", reference="389404470", amount=1325)

    recorded = shopify.money.record_order_transactions(shopify.link, SHOPIFY_TRANSACTIONS, "USD")
    shopify.money.record_order_transactions(shopify.link, SHOPIFY_TRANSACTIONS, "USD")

    assert recorded == 2  # the capture and the refund; the authorization and the failure move no money
    capture = ProcessorRecord.objects.get(platform_id="389404470")
    assert (capture.kind, capture.gross, capture.payment, capture.card_brand) == (
        "payment",
        1325,
        tender,
        "Visa",
    )
    assert capture.business_day == date(2026, 11, 24)
    refund = ProcessorRecord.objects.get(platform_id="389404471")
    assert (refund.kind, refund.gross, refund.platform_payment_id, refund.payment) == (
        "refund",
        -300,
        "389404470",
        tender,
    )
    assert ProcessorRecord.objects.count() == 2


def test_shopify_payouts_are_read_with_their_balance_transactions(shopify):
    tender = sale(platform="shopify", reference="389404470", amount=1325)
    shopify.money.record_order_transactions(shopify.link, SHOPIFY_TRANSACTIONS, "USD")

    assert shopify.money.read_money(shopify.link) == {"payouts": 1}
    shopify.client.reset()
    shopify.money.read_money(shopify.link)

    payout = Payout.objects.get()
    assert (payout.platform_payout_id, payout.amount, payout.status) == ("623721858", 4190, "paid")
    assert payout.arrival_date == date(2026, 11, 27)
    assert payout.entries.count() == 4
    charge = payout.entries.get(platform_entry_id="1")
    assert (charge.entry_type, charge.gross, charge.fee, charge.net, charge.payment) == (
        "charge",
        4452,
        132,
        4320,
        tender,
    )
    refund = payout.entries.get(platform_entry_id="2")
    assert (refund.entry_type, refund.processor_record.platform_id) == ("refund", "389404471")
    adjustment = payout.entries.get(platform_entry_id="3")
    assert (adjustment.gross, adjustment.fee, adjustment.net) == (213, 12, 224)
    payout_row = payout.entries.get(platform_entry_id="4")
    assert (payout_row.entry_type, payout_row.net) == ("payout", -payout.amount)
    # Shopify's invariant: the payout equals its lines before the payout row itself.
    assert sum(e.gross - e.fee for e in payout.entries.exclude(entry_type="payout")) == payout.amount
    balance_calls = [
        params for path, params in shopify.client.calls if path.endswith("balance/transactions.json")
    ]
    assert balance_calls[0] == {"payout_id": 623721858, "limit": 250}


def test_shopify_fees_come_from_the_balance_transactions_onto_the_processor_records(shopify):
    sale(platform="shopify", reference="389404470", amount=1325)
    shopify.money.record_order_transactions(shopify.link, SHOPIFY_TRANSACTIONS, "USD")
    assert set(ProcessorRecord.objects.values_list("fee", flat=True)) == {0}  # REST transactions carry none

    shopify.money.read_money(shopify.link)
    shopify.client.reset()
    shopify.money.read_money(shopify.link)
    shopify.money.record_order_transactions(shopify.link, SHOPIFY_TRANSACTIONS, "USD")  # a repeated webhook

    capture = ProcessorRecord.objects.get(platform_id="389404470")
    assert (capture.gross, capture.fee, capture.net) == (1325, 132, 1193)
    refund = ProcessorRecord.objects.get(platform_id="389404471")
    assert (refund.gross, refund.fee, refund.net) == (-300, -23, -277)  # the fee Shopify gave back
    assert ProcessorRecord.objects.count() == 2


def test_shopify_fees_of_charges_not_paid_out_yet_are_read_from_the_pending_balance(shop, monkeypatch):
    from apps.connectors.shopify import money

    pending = [{**SHOPIFY_BALANCE[0], "payout_id": None, "payout_status": "pending"}]
    client = RecordedClient({"/admin/api/2026-04/shopify_payments/payouts.json": [{"payouts": []}],
                             "/admin/api/2026-04/shopify_payments/balance/transactions.json": [
                                 {"transactions": pending}]})
    monkeypatch.setattr(money, "shopify_client", lambda: client)
    link = connect(shop, "shopify", "655441491")
    sale(platform="shopify", reference="389404470", amount=1325)
    money.record_order_transactions(link, SHOPIFY_TRANSACTIONS, "USD")

    assert money.read_money(link) == {"payouts": 0}

    capture = ProcessorRecord.objects.get(platform_id="389404470")
    assert (capture.fee, capture.net) == (132, 1193)
    assert Payout.objects.count() == 0
    assert client.calls[-1] == ("/admin/api/2026-04/shopify_payments/balance/transactions.json",
                                {"payout_status": "pending", "limit": 250})


def test_shopify_transactions_read_after_their_payout_take_its_fees(shopify):
    sale(platform="shopify", reference="389404470", amount=1325)
    shopify.money.read_money(shopify.link)
    assert ProcessorRecord.objects.count() == 0

    shopify.money.record_order_transactions(shopify.link, SHOPIFY_TRANSACTIONS, "USD")

    fees = dict(ProcessorRecord.objects.values_list("platform_id", "fee"))
    assert fees == {"389404470": 132, "389404471": -23}


def test_shopify_payouts_are_read_once_per_shop_not_per_location(shopify, shop):
    from tests.factories import LocationFactory

    second = PlatformConnection.objects.create(
        platform="shopify", location=LocationFactory(code="BKN"), external_location_id="655441492"
    )
    assert shopify.money.read_money(second) == {"payouts": "read with the shop's first location"}
    assert shopify.client.calls == []


# ---------------------------------------------------------------- Clover


CLOVER_PAYMENTS = [
    {
        "id": "CP1",
        "order": {"id": "CO1"},
        "amount": 1125,
        "tipAmount": 150,
        "taxAmount": 0,
        "result": "SUCCESS",
        "createdTime": 1795975200000,
        "modifiedTime": 1795975200000,
        "tender": {"label": "Credit Card", "labelKey": "com.clover.tender.credit_card"},
        "cardTransaction": {"cardType": "VISA", "last4": "1111", "state": "CLOSED"},
    }
]
CLOVER_REFUNDS = [
    {
        "id": "CR1",
        "orderRef": {"id": "CO1"},
        "payment": {"id": "CP1"},
        "amount": 375,
        "taxAmount": 0,
        "tipAmount": 0,
        "createdTime": 1795978800000,
    }
]


def test_clover_payments_and_refunds_are_read_once(shop, monkeypatch):
    from apps.connectors.clover import money

    client = RecordedClient(
        {
            "/v3/merchants/M1/payments": [{"elements": CLOVER_PAYMENTS}],
            "/v3/merchants/M1/refunds": [{"elements": CLOVER_REFUNDS}],
        }
    )
    monkeypatch.setattr(money, "clover_client", lambda merchant_id: client)
    link = connect(shop, "clover", "M1")
    tender = sale(platform="clover", reference="CP1", tip=150)

    assert money.read_money(link) == {"payments": 1, "refunds": 1}
    client.reset()
    link.refresh_from_db()
    money.read_money(link)

    payment = ProcessorRecord.objects.get(platform_id="CP1")
    assert (payment.amount, payment.tip, payment.fee, payment.payment, payment.card_brand) == (
        1125,
        150,
        0,
        tender,
        "VISA",
    )
    refund = ProcessorRecord.objects.get(platform_id="CR1")
    assert (refund.gross, refund.payment) == (-375, tender)
    assert ProcessorRecord.objects.count() == 2
    assert link.settings["money_read_to_ms"] == 1795978800000
    second_filter = client.calls[-1][1]["filter"]
    assert second_filter == [f"createdTime>={1795978800000 - money.OVERLAP_MS}"]


# ---------------------------------------------------------------- Toast


def toast_order(refund=None, fee="0.33"):
    payment = {
        "guid": "tp-1",
        "entityType": "OrderPayment",
        "paidDate": "2026-11-25T05:30:00.000+0000",
        "paidBusinessDate": 20261124,
        "type": "CREDIT",
        "amount": 11.25,
        "tipAmount": 2.0,
        "originalProcessingFee": fee,
        "cardType": "VISA",
        "paymentStatus": "CAPTURED",
        "refundStatus": "PARTIAL" if refund else "NONE",
        "refund": refund,
    }
    voided = {
        "guid": "tp-2",
        "paidDate": "2026-11-25T05:31:00.000+0000",
        "type": "CREDIT",
        "amount": 1.0,
        "paymentStatus": "VOIDED",
    }
    return {"restaurantGuid": "R1", "order": {"guid": "to-1", "checks": [{"payments": [payment, voided]}]}}


def test_toast_payments_and_pos_refunds_come_with_the_polled_order(shop):
    from apps.connectors.toast.money import record_order_payments

    shop.oak.timezone = "America/New_York"
    shop.oak.save(update_fields=["timezone"])
    connect(shop, "toast", "R1")
    tender = sale(platform="toast", reference="tp-1", tip=200)

    assert record_order_payments(toast_order()) == 1
    refund = {
        "refundAmount": 3.75,
        "tipRefundAmount": 0,
        "refundDate": "2026-11-26T15:00:00.000+0000",
        "refundBusinessDate": 20261126,
        "refundTransaction": {"guid": "rt-1"},
    }
    assert record_order_payments(toast_order(refund)) == 2

    payment = ProcessorRecord.objects.get(platform_id="tp-1")
    assert (payment.amount, payment.tip, payment.fee, payment.net) == (1125, 200, 33, 1292)
    assert payment.business_day == date(2026, 11, 24)  # Toast's own, not the UTC day
    assert (payment.payment, payment.status) == (tender, "CAPTURED")
    refund_record = ProcessorRecord.objects.get(platform_id="refund:rt-1")
    assert (refund_record.gross, refund_record.business_day, refund_record.payment) == (
        -375,
        date(2026, 11, 26),
        tender,
    )
    assert ProcessorRecord.objects.count() == 2


def test_each_platform_names_its_money_reader():
    assert connector_platform("square").money is not None
    assert connector_platform("shopify").money is not None
    assert connector_platform("clover").money is not None
    assert connector_platform("toast").money is None  # its payments come with the polled orders


def test_a_shopify_refunds_transactions_link_to_the_part_concord_keeps_under_the_refund_id(shopify):
    from apps.returns.models import Refund, RefundPart

    tender = sale(platform="shopify", reference="389404470", amount=1325)
    refund = Refund.objects.create(order=tender.order, status="completed", amount=300, currency="USD")
    part = RefundPart.objects.create(
        refund=refund,
        payment=tender,
        amount=300,
        platform="shopify",
        status="completed",
        reference="929361462",
    )
    refund_transaction = {**SHOPIFY_TRANSACTIONS[2]}
    del refund_transaction["kind"]  # a refund's own transactions list; the kind is implied

    assert shopify.money.record_refund_transactions("929361462", [refund_transaction], "USD") == 1

    record = ProcessorRecord.objects.get()
    assert (record.platform_id, record.kind, record.gross) == ("389404471", "refund", -300)
    assert (record.refund_part, record.payment) == (part, tender)
