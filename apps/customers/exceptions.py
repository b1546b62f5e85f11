"""Errors of the customers app, in the one error shape (apps/core/errors.py)."""

from apps.core.errors import Conflict


class InsufficientBalance(Conflict):
    """A redemption larger than the balance: 409 `insufficient_balance`."""

    code = "insufficient_balance"

    def __init__(self, *, requested: int, available: int, unit: str, field: str | None = None):
        super().__init__(
            f"The balance is {available} {unit}; {requested} {unit} were asked for.",
            field=field, extra={"requested": requested, "available": available},
        )


class StoredValueExpired(Conflict):
    code = "stored_value_expired"


class MergeRefused(Conflict):
    """A merge or an undo that cannot happen; `blockers` says every reason."""

    code = "merge_refused"

    def __init__(self, blockers: list[dict]):
        super().__init__("; ".join(b["detail"] for b in blockers),
                         errors=[{"code": b["code"], "detail": b["detail"]} for b in blockers])
        self.blockers = blockers
