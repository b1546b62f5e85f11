from apps.core.errors import Conflict


class StockShortage(Exception):
    """A conditional reservation found too little stock (or an 86'd item).

    Raised inside the order transaction so it rolls back; the caller explains which
    lines were short once the transaction is gone.
    """

    def __init__(self, level_id: int):
        super().__init__(level_id)
        self.level_id = level_id


class InsufficientStock(Conflict):
    code = "insufficient_stock"


class ItemUnavailable(Conflict):
    code = "item_unavailable"
