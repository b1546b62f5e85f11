"""A local Shopify store: the Admin API endpoints Concord calls, in memory, with Shopify's
webhooks, auth, API versions and rate limits (CONNECTORS.md §4).

Served (`{v}` is an API version, 2024-07 .. 2026-04):
- POST /admin/api/{v}/graphql.json: products, productVariants, locations, inventoryItems,
  inventoryLevel, orders/order; mutations inventorySetQuantities and
  inventoryAdjustQuantities (graphql_api.py, mutations.py)
- REST (legacy): GET products.json, locations.json, inventory_levels.json, orders.json,
  orders/{id}.json; POST inventory_levels/set.json, inventory_levels/adjust.json,
  orders/{id}/refunds.json (GET and POST, rest.py)
Webhooks: orders/create, orders/paid, orders/cancelled, orders/fulfilled, refunds/create,
inventory_levels/update, signed
`X-Shopify-Hmac-Sha256 = base64(HMAC-SHA256(api secret, raw body))`.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from apps.demo.dev_credentials import SECRETS
from apps.emulators.base import (
    BadJson,
    ControlError,
    Emulator,
    Request,
    Response,
    TokenBucket,
    order_state_request,
)
from apps.emulators.settlement import optional_instant, parse_instant

from . import signatures
from .graphql_api import GraphQLApi
from .payments import PaymentsAccount, page_info
from .rest import RestApi, RestError
from .schema import SUPPORTED_VERSIONS
from .store import Level, ShopifyStore, cents_of, decimal_text, now, rest_time

API = r"/admin/api/(?P<version>\d{4}-\d{2})"
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"


class ShopifyEmulator(Emulator):
    platform = "shopify"

    access_token = SECRETS["SHOPIFY_ACCESS_TOKEN"]
    api_secret = SECRETS["SHOPIFY_API_SECRET"]
    shop_domain = SECRETS["SHOPIFY_SHOP_DOMAIN"]
    api_version = "2026-04"  # the webhook subscriptions' version (X-Shopify-API-Version)
    # Standard plan limits [verified shopify.dev rate-limits; bucket sizes per CONNECTORS.md §4.5].
    rest_bucket_size = 40
    rest_leak_rate = 2.0
    graphql_bucket_size = 1000
    graphql_restore_rate = 100.0
    graphql_throttle_status = 200  # 200 + THROTTLED; set 429 to test the other reading

    def __init__(self, **kwargs):
        self.rest_bucket = TokenBucket(self.rest_leak_rate, self.rest_bucket_size)
        self.graphql_bucket = TokenBucket(self.graphql_restore_rate, self.graphql_bucket_size)
        super().__init__(**kwargs)

    def reset_state(self, seed: bool) -> None:
        self.store = ShopifyStore(seed=seed)
        self.payments = PaymentsAccount(self.store.ids.next)
        self.rest_bucket.reset()
        self.graphql_bucket.reset()

    # -- routes ----------------------------------------------------------------------------------

    def routes(self):
        rest = RestHandlers(self)
        return [
            ("POST", rf"{API}/graphql\.json", self.graphql),
            ("GET", rf"{API}/products\.json", rest.read("products")),
            ("GET", rf"{API}/locations\.json", rest.read("locations")),
            ("GET", rf"{API}/inventory_levels\.json", rest.read("inventory_levels")),
            ("GET", rf"{API}/orders\.json", rest.read("orders")),
            ("GET", rf"{API}/orders/(?P<order_id>\d+)\.json", rest.read("order")),
            ("GET", rf"{API}/orders/(?P<order_id>\d+)/transactions\.json", rest.read("transactions")),
            ("POST", rf"{API}/inventory_levels/set\.json", rest.write("set_level")),
            ("POST", rf"{API}/inventory_levels/adjust\.json", rest.write("adjust_level")),
            ("GET", rf"{API}/orders/(?P<order_id>\d+)/refunds\.json", rest.read("refunds")),
            ("POST", rf"{API}/orders/(?P<order_id>\d+)/refunds\.json", rest.refund),
            # The account is replaced on reset, so the routes look it up on each call.
            ("GET", rf"{API}/shopify_payments/payouts\.json",
             rest.paged("payouts", lambda request: self.payments.list_payouts(request))),
            ("GET", rf"{API}/shopify_payments/payouts/(?P<payout_id>\d+)\.json", rest.payout),
            ("GET", rf"{API}/shopify_payments/balance/transactions\.json",
             rest.paged("transactions", lambda request: self.payments.list_transactions(request))),
            ("GET", rf"{API}/shopify_payments/balance\.json", rest.balance),
        ]

    def graphql(self, request: Request) -> Response:
        version = request.params["version"]
        if version not in SUPPORTED_VERSIONS:
            return self.not_found_response(request)
        if request.headers.get("Content-Type", "").startswith("application/graphql"):
            body = {"query": request.body.decode("utf-8", "replace")}
        else:
            body = request.json_object()
        status, answer, headers = GraphQLApi(self).answer(body, version)
        return Response.json(status, answer, {"X-Shopify-API-Version": version, **headers})

    # -- platform plumbing ------------------------------------------------------------------------

    def authenticate(self, request: Request) -> Response | None:
        if request.headers.get("X-Shopify-Access-Token") != self.access_token:
            return Response.json(401, {"errors": INVALID_TOKEN})
        return None

    def check_rate_limit(self, request: Request) -> float | None:
        if request.path.endswith("/graphql.json"):
            return None  # GraphQL is limited by query cost, inside the handler
        return self.rest_bucket.take() or None

    def rate_limit_response(self, request: Request, retry_after: float) -> Response:
        if request.path.endswith("/graphql.json"):
            status, body, _ = GraphQLApi(self).throttled(None)
            return Response.json(status, body, {"Retry-After": f"{retry_after:.1f}"})
        full = f"{self.rest_bucket_size}/{self.rest_bucket_size}"
        return Response.json(429, {"errors": "Exceeded 2 calls per second for api client. Reduce request "
                                             "rates to resume uninterrupted service."},
                             {"Retry-After": f"{retry_after:.1f}", "X-Shopify-Shop-Api-Call-Limit": full})

    def error_response(self, request: Request, status: int) -> Response:
        if status == 400:
            return Response.json(400, {"errors": "Bad Request"})
        return Response.json(status, {"errors": "Internal Server Error" if status == 500 else "Unavailable"})

    def bad_json_response(self, request: Request, error: BadJson) -> Response:
        return Response.json(400, {"errors": "Bad Request"})

    def not_found_response(self, request: Request) -> Response:
        return Response.json(404, {"errors": "Not Found"})

    def call_limit_header(self) -> dict:
        used = self.rest_bucket.capacity - self.rest_bucket.available
        return {"X-Shopify-Shop-Api-Call-Limit": f"{max(0, round(used))}/{self.rest_bucket_size}"}

    # -- webhooks --------------------------------------------------------------------------------

    def send_webhook_topic(self, topic: str, payload: dict, event_id: str | None = None) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {
            "X-Shopify-Topic": topic,
            signatures.HEADER: signatures.sign(self.api_secret, body),
            "X-Shopify-Shop-Domain": self.shop_domain,
            "X-Shopify-API-Version": self.api_version,
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
            "X-Shopify-Triggered-At": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
        self.send_webhook(body, headers, label=topic)

    def send_level_updates(self, levels: list[Level], event_id: str | None = None) -> None:
        for level in levels:
            self.send_webhook_topic("inventory_levels/update", level.rest(), event_id)

    # -- state document ----------------------------------------------------------------------------

    def snapshot(self) -> dict:
        store = self.store
        codes = {location_id: loc["name"] for location_id, loc in store.locations.items()}
        return {
            "locations": [{"id": str(i), "name": name} for i, name in codes.items()],
            "orders": [{
                "id": o["id"], "location": codes.get(o["location_id"]), "source": o["source_name"],
                "idempotency_key": None, "state": o["financial_status"], "created_at": o["created_at"],
                "lines": [{"sku": li["sku"], "quantity": li["quantity"]} for li in o["line_items"]],
            } for o in store.orders.values()],
            "refunds": [{"id": r["id"], "order_id": r["order_id"], "idempotency_key": None,
                         "amount": sum(cents_of(t["amount"]) for t in r["transactions"])}
                        for r in store.refunds.values()],
            "stock": self._stock_document(codes),
            "payments": [{"id": t["id"], "order_id": t["order_id"], "amount": cents_of(t["amount"]),
                          "kind": t["kind"], "status": t["status"]}
                         for transactions in store.transactions.values() for t in transactions],
            **self.payments.snapshot(),
        }

    def _stock_document(self, codes: dict[int, str]) -> dict:
        stock: dict[str, dict] = {name: {} for name in codes.values()}
        for (location_id, item_id), level in self.store.levels.items():
            sku = self.store.variant_by_item[item_id]["sku"]
            stock[codes[location_id]][sku] = {
                "quantity": level.available,
                "available": not level.unavailable and level.available > 0,
            }
        return stock

    # -- control API -------------------------------------------------------------------------------

    def ring_sale(self, body: dict) -> dict:
        """A storefront checkout: refused when any line is short, else a paid order."""
        location_id = self._location(body.get("location"))
        lines = self._sale_lines(body.get("lines"))
        short = self.store.shortages(location_id, lines)
        if short:
            return {"accepted": False, "order_id": None, "reason": "insufficient stock: " + "; ".join(short)}
        order = self.store.place_order(location_id, lines, body.get("customer"),
                                       tax_rate=_tax_rate(body.get("tax_percentage")),
                                       discount=_cents_arg(body.get("discount", 0), "discount"),
                                       created=optional_instant(body))
        in_person = (body.get("tender") or {}).get("entry") == "in_person"
        self.payments.charge(order, self.store.transactions[order["id"]][0], in_person=in_person)
        levels = []
        for variant, quantity in lines:
            level = self.store.levels[(location_id, variant["inventory_item_id"])]
            self.store.commit(level, quantity)
            if level not in levels:
                levels.append(level)
        event_id = str(uuid.uuid4())
        self.send_webhook_topic("orders/create", order, event_id)
        self.send_webhook_topic("orders/paid", order, event_id)
        self.send_level_updates(levels, event_id)
        return {"accepted": True, "order_id": order["id"], "name": order["name"]}

    def set_stock(self, body: dict) -> dict:
        """Staff set a level in the Shopify admin; `available: false` (no 86 flag on Shopify)
        sets it to 0 and is recorded."""
        location_id = self._location(body.get("location"))
        variant = self.store.variant_by_sku.get(body.get("sku"))
        if variant is None:
            raise ControlError(f"unknown sku {body.get('sku')!r}")
        level = self.store.levels[(location_id, variant["inventory_item_id"])]
        quantity = body.get("quantity")
        if quantity is not None and (not isinstance(quantity, int) or isinstance(quantity, bool)):
            raise ControlError("quantity must be an integer or null")
        if "available" in body:
            if not isinstance(body["available"], bool):
                raise ControlError("available must be true or false")
            level.unavailable = not body["available"]
            if level.unavailable and quantity is None:
                quantity = 0
        if quantity is not None and self.store.change(level, "available", quantity - level.available):
            self.send_level_updates([level])
        return {"ok": True, "inventory_level": level.rest(), "unavailable": level.unavailable}

    def make_refund(self, body: dict) -> dict:
        """A refund made in the Shopify admin: lines by SKU, amount in cents (default: the
        lines' value, or everything still refundable), restocked only if `restock` is true."""
        order = self.store.orders.get(_as_int(body.get("order_id")))
        if order is None:
            raise ControlError(f"unknown order {body.get('order_id')!r}", status=404)
        restock = "return" if body.get("restock") else "no_restock"
        line_items = [self._refund_line(order, line, restock) for line in body.get("lines") or []]
        default = sum(cents_of(order_line(order, item["line_item_id"])["price"]) * item["quantity"]
                      for item in line_items) or self.store.refundable_cents(order["id"])
        amount = body.get("amount", default)
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
            raise ControlError("amount must be a non-negative integer (cents)")
        sale = next(t for t in self.store.transactions[order["id"]] if t["kind"] == "sale")
        refund_body = {"note": body.get("reason"), "refund_line_items": line_items,
                       "transactions": [{"parent_id": sale["id"], "amount": decimal_text(amount),
                                         "kind": "refund", "gateway": sale["gateway"]}] if amount else []}
        self.store.clock = optional_instant(body)  # a refund made on an earlier day
        try:
            refund = RestApi(self).create_refund(order, refund_body)
        except RestError as error:
            raise ControlError(f"refund refused: {error.errors}", status=409) from error
        finally:
            self.store.clock = None
        return {"accepted": True, "refund_id": refund["id"], "order_id": order["id"], "amount": amount}

    def settle(self, body: dict) -> dict:
        """Payouts for every payout date begun by `through` (payments.py); no webhook."""
        created, paid = self.payments.settle(parse_instant(body.get("through"), "through"))
        return {"payouts": created, "paid": [p["id"] for p in paid]}

    def open_dispute(self, body: dict) -> dict:
        """A chargeback on an order's payment (`payment_id`: its sale transaction id, or
        `order_id`): a `dispute` row of -amount with Shopify's chargeback fee."""
        order = self._order_paid_by(body)
        sale = self.store.transactions[order["id"]][0]
        amount = _cents_arg(body.get("amount", cents_of(sale["amount"])), "amount")
        movement = self.payments.dispute(order, amount, optional_instant(body) or now())
        return {"order_id": order["id"], "amount": amount,
                "balance_transaction_id": self.payments.rows[movement.id]["id"]}

    def adjust_fee(self, body: dict) -> dict:
        """Shopify trues up its fees by `amount` cents: an `adjustment` row."""
        amount = body.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
            raise ControlError("amount must be a non-zero integer (cents)")
        movement = self.payments.adjust_fee(amount, optional_instant(body) or now())
        return {"amount": amount, "balance_transaction_id": self.payments.rows[movement.id]["id"]}

    def _order_paid_by(self, body: dict) -> dict:
        wanted = _as_int(body.get("payment_id"))
        for order_id, transactions in self.store.transactions.items():
            if order_id == _as_int(body.get("order_id")) or any(t["id"] == wanted for t in transactions):
                return self.store.orders[order_id]
        raise ControlError(f"unknown payment {body.get('payment_id')!r}", status=404)

    def set_order_state(self, body: dict) -> dict:
        """Staff cancel an order in the Shopify admin (`cancelled`/`voided`: committed units
        back to available, orders/cancelled and inventory_levels/update follow) or fulfil
        it (`closed`: the units leave on hand, orders/fulfilled follows). A cancelled order
        cannot change again, nor a fulfilled one be cancelled or fulfilled again (409).
        [unverified] Shopify's cancel restocks here, as the admin's "Restock items" default."""
        order_id, state = order_state_request(body)
        order = self.store.orders.get(_as_int(order_id))
        if order is None:
            raise ControlError(f"unknown order {order_id!r}", status=404)
        if order["cancelled_at"] or order["fulfillment_status"] == "fulfilled":
            shown = "cancelled" if order["cancelled_at"] else "fulfilled"
            raise ControlError(f"order {order['name']} is {shown}", status=409)
        stamp = rest_time(now())
        levels = self._settle_order_stock(order, fulfilled=state == "closed")
        if state == "closed":
            order.update(fulfillment_status="fulfilled", updated_at=stamp)
            self.send_webhook_topic("orders/fulfilled", order)
        else:
            order.update(cancelled_at=stamp, cancel_reason="other", updated_at=stamp)
            event_id = str(uuid.uuid4())
            self.send_webhook_topic("orders/cancelled", order, event_id)
            self.send_level_updates(levels, event_id)
        return {"order_id": order["id"], "cancelled_at": order["cancelled_at"],
                "fulfillment_status": order["fulfillment_status"]}

    def _settle_order_stock(self, order: dict, *, fulfilled: bool) -> list[Level]:
        """Fulfilled: the committed units leave on hand; cancelled: they are available again."""
        levels: list[Level] = []
        for line in order["line_items"]:
            item_id = self.store.variants[line["variant_id"]]["inventory_item_id"]
            level = self.store.levels[(order["location_id"], item_id)]
            if fulfilled:
                level.on_hand -= line["quantity"]
                line["fulfillment_status"] = "fulfilled"
            else:
                level.available += line["quantity"]
            line["fulfillable_quantity"] = 0
            level.updated_at = now()
            if level not in levels:
                levels.append(level)
        return levels

    def _refund_line(self, order: dict, line: dict, restock: str) -> dict:
        item = next((li for li in order["line_items"] if li["sku"] == line.get("sku")), None)
        if item is None:
            raise ControlError(f"order has no line with sku {line.get('sku')!r}")
        return {"line_item_id": item["id"], "quantity": line.get("quantity", item["quantity"]),
                "restock_type": restock, "location_id": order["location_id"]}

    def _location(self, value: object) -> int:
        location_id = self.store.resolve_location(value)
        if location_id is None:
            raise ControlError(f"unknown location {value!r}")
        return location_id

    def _sale_lines(self, lines: object) -> list[tuple[dict, int]]:
        if not isinstance(lines, list) or not lines:
            raise ControlError("lines must be a non-empty list")
        result = []
        for index, line in enumerate(lines):
            variant = self.store.variant_by_sku.get(line.get("sku")) if isinstance(line, dict) else None
            if variant is None:
                raise ControlError(f"lines[{index}]: unknown sku")
            quantity = line.get("quantity", 1)
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
                raise ControlError(f"lines[{index}].quantity must be a positive integer")
            result.append((variant, quantity))
        return result


def _tax_rate(percentage) -> Decimal | None:
    """A control-API `tax_percentage` (8.875) as Shopify's tax line `rate` (0.08875)."""
    if percentage is None:
        return None
    try:
        rate = Decimal(str(percentage)) / 100
    except ArithmeticError:
        raise ControlError("tax_percentage must be a number") from None
    if not rate.is_finite() or rate < 0:
        raise ControlError("tax_percentage must be a non-negative number")
    return rate


def _cents_arg(value, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ControlError(f"{name} must be a non-negative integer in cents")
    return value


class RestHandlers:
    """Wraps RestApi methods as route handlers: version check, error envelope, call-limit header."""

    def __init__(self, emulator: ShopifyEmulator):
        self.emulator = emulator

    def read(self, name: str):
        return self._wrap(lambda api, request: (200, getattr(api, name)(request)))

    def write(self, name: str):
        return self._wrap(lambda api, request: (200, getattr(api, name)(request.json_object())))

    @property
    def refund(self):
        def create(api: RestApi, request: Request):
            order = api._order(request)
            return 201, {"refund": api.create_refund(order, request.json_object().get("refund"))}
        return self._wrap(create)

    def paged(self, name: str, lister):
        """A Shopify Payments list with Link-header paging (`page_info`, rel="next")."""
        def answer(api: RestApi, request: Request):
            rows, following = lister(request)
            headers = {}
            if following is not None:
                host = request.headers.get("Host", "127.0.0.1")
                url = f"http://{host}{request.path}?limit={following.get('limit', len(rows))}" \
                      f"&page_info={page_info(following)}"
                headers["Link"] = f'<{url}>; rel="next"'
            return 200, {name: rows}, headers
        return self._wrap(answer)

    @property
    def payout(self):
        def answer(api: RestApi, request: Request):
            payout = self.emulator.payments.payouts.get(int(request.params["payout_id"]))
            if payout is None:
                raise RestError(404, "Not Found")
            return 200, {"payout": payout}
        return self._wrap(answer)

    @property
    def balance(self):
        def answer(api: RestApi, request: Request):
            pending = sum(m.net for m in self.emulator.payments.book.pending())
            return 200, {"balance": [{"currency": "USD", "amount": decimal_text(pending)}]}
        return self._wrap(answer)

    def _wrap(self, action):
        def handle(request: Request) -> Response:
            headers = {**self.emulator.call_limit_header(),
                       "X-Shopify-API-Version": request.params["version"]}
            if request.params["version"] not in SUPPORTED_VERSIONS:
                return Response.json(404, {"errors": "Not Found"}, headers)
            try:
                status, body, *extra = action(RestApi(self.emulator), request)
            except RestError as error:
                return Response.json(error.status, {"errors": error.errors}, headers)
            return Response.json(status, body, {**headers, **(extra[0] if extra else {})})
        return handle


def order_line(order: dict, line_id: int) -> dict:
    return next(li for li in order["line_items"] if li["id"] == line_id)


def _as_int(value: object) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

