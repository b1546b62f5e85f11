"""Square refunds in the emulator: RefundPayment (`POST /v2/refunds`, SQ-SPEC
`RefundPaymentRequest`/`PaymentRefund`, fixtures/platforms/square_refund_payment_*.json)
and the PENDING -> COMPLETED settlement with its webhooks (`refund.created`,
`refund.updated`, then `order.updated` for the order that gains the refund).

A mixin of SquareEmulator: it uses the emulator's state (`payments`, `refunds`, `orders`),
its lock and `send_event`.
"""

from __future__ import annotations

import threading
from datetime import datetime

from apps.demo import demo_data
from apps.emulators.base import Request, Response

from .support import SquareError, invalid, missing, money, not_found, now, random_id, rfc3339


class RefundsMixin:
    def refund_payment(self, request: Request) -> Response:
        body = request.json_object()
        # [unverified] RefundPayment keys are limited to 45 characters.
        return self._idempotent("refunds", body, 45, lambda key: self._refund_from_api(body, key))

    def _refund_from_api(self, body: dict, key: str) -> tuple[int, dict]:
        if body.get("unlinked"):
            raise invalid("BAD_REQUEST", "Unlinked refunds are not supported by the Concord emulator.",
                          "unlinked")
        payment_id = body.get("payment_id")
        if not payment_id:
            raise missing("payment_id")
        payment = self.payments.get(payment_id)
        if payment is None:
            raise not_found(f"Payment `{payment_id}` not found.", "payment_id")
        amount = _refund_amount(body.get("amount_money"))
        reason = body.get("reason")
        if reason is not None and (not isinstance(reason, str) or len(reason) > 192):
            raise invalid("VALUE_TOO_LONG", "Must be at most 192 characters long.", "reason")
        refund = self.create_refund(payment, amount, reason, key)
        return 200, {"refund": refund}

    def create_refund(self, payment: dict, amount: int, reason: str | None, key: str | None, *,
                      created: datetime | None = None) -> dict:
        if payment["status"] != "COMPLETED":
            raise SquareError(400, "REFUND_ERROR", "PAYMENT_NOT_REFUNDABLE",
                              "The payment is not refundable.", "payment_id")
        remaining = payment["amount_money"]["amount"] - self.refunded_or_pending(payment["id"])
        if amount > remaining:
            raise SquareError(400, "REFUND_ERROR", "REFUND_AMOUNT_INVALID",
                              f"The requested refund amount exceeds the amount available "
                              f"to refund ({remaining}).", "amount_money.amount")
        created = rfc3339(created or now())  # a control-API refund may be backdated
        refund = {
            "id": f"{payment['id']}_{random_id(40)}", "status": "PENDING",
            "amount_money": money(amount), "payment_id": payment["id"],
            "order_id": payment["order_id"], "location_id": payment["location_id"],
            "created_at": created, "updated_at": created, "version": 1,
        }
        if reason:
            refund["reason"] = reason
        returned = self.refund_fee(payment, amount)
        if returned:  # SQ-SPEC: a fee given back is a negative processing_fee
            refund["processing_fee"] = [{"effective_at": created, "type": "INITIAL",
                                         "amount_money": money(-returned)}]
        self.refunds[refund["id"]] = refund
        self.record_refund_money(refund, payment, returned)
        self.refund_keys[refund["id"]] = key
        self.send_event("refund.created", "refund", refund["id"], {"refund": dict(refund)})
        timer = threading.Timer(self.refund_settle_s, self._settle_refund,
                                args=(refund["id"], self.generation))
        timer.daemon = True
        timer.start()
        return dict(refund)

    def refunded_or_pending(self, payment_id: str) -> int:
        return sum(r["amount_money"]["amount"] for r in self.refunds.values()
                   if r["payment_id"] == payment_id and r["status"] in ("PENDING", "COMPLETED"))

    def _settle_refund(self, refund_id: str, generation: int) -> None:
        with self.lock:
            refund = self.refunds.get(refund_id)
            if generation != self.generation or refund is None or refund["status"] != "PENDING":
                return
            refund.update(status="COMPLETED", updated_at=rfc3339(now()), version=refund["version"] + 1)
            payment = self.payments[refund["payment_id"]]
            refunded = payment.get("refunded_money", money(0))["amount"] + refund["amount_money"]["amount"]
            payment.update(refunded_money=money(refunded), updated_at=refund["updated_at"],
                           refund_ids=[*payment.get("refund_ids", []), refund_id])
            self.send_event("refund.updated", "refund", refund_id, {"refund": dict(refund)})
            self._record_refund_on_order(refund)

    def _record_refund_on_order(self, refund: dict) -> None:
        order = self.orders.get(refund["order_id"])
        if order is None:
            return
        order.setdefault("refunds", []).append({
            "id": refund["id"], "location_id": refund["location_id"],
            "transaction_id": order["id"], "tender_id": refund["payment_id"],
            "created_at": refund["created_at"], "reason": refund.get("reason", ""),
            "amount_money": refund["amount_money"], "status": "COMPLETED",
        })
        order["version"] += 1
        order["updated_at"] = refund["updated_at"]
        self.order_event("order.updated", order)



def _refund_amount(value: object) -> int:
    if value is None:
        raise missing("amount_money")
    if not isinstance(value, dict) or not isinstance(value.get("amount"), int) \
            or isinstance(value.get("amount"), bool):
        raise invalid("INVALID_VALUE", "Expected Money with an integer amount.", "amount_money")
    if value.get("currency") != demo_data.CURRENCY:
        raise invalid("CURRENCY_MISMATCH", f"Currency must be {demo_data.CURRENCY}.",
                      "amount_money.currency")
    if value["amount"] <= 0:
        raise SquareError(400, "REFUND_ERROR", "REFUND_AMOUNT_INVALID",
                          "The refund amount must be greater than zero.", "amount_money.amount")
    return value["amount"]

