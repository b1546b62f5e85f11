"""Which orders a POS is owed: the rule routing asks of one outbox row and the SQL a push
uses for rows not fanned out yet give the same answers, case by case."""

import itertools

import pytest

from apps.connectors.injection_rule import owes_injection, undispatched_rows_owed_to
from apps.connectors.models import PlatformConnection
from apps.core import topics
from apps.core.models import OutboxEvent
from tests.factories import LocationFactory

TOPICS = (topics.ORDER_CREATED, topics.ORDER_RECORDED, topics.ORDER_CANCELED, topics.STOCK_CHANGED)
CHANNELS = ("web", "phone", "register")
# An order payload always names its source (`topics.OrderPayload`), if only as "".
SOURCES = ("Square", "square", "SQUARE", "Shopify", "PieLine", "")


def outbox_rows(here, elsewhere) -> list[OutboxEvent]:
    rows = []
    for n, (topic, channel, source, location) in enumerate(
            itertools.product(TOPICS, CHANNELS, SOURCES, (here, elsewhere))):
        payload = {"order_id": n, "channel": channel, "location_id": location.pk, "status": "accepted",
                   "source_name": source, "variant_ids": []}
        rows.append(OutboxEvent(topic=topic, aggregate_type="Order", aggregate_id=n, payload=payload))
    return OutboxEvent.objects.bulk_create(rows)


@pytest.mark.parametrize("receives_orders", [True, False])
def test_python_and_sql_agree_on_every_case(db, receives_orders):
    here, elsewhere = LocationFactory(code="OAK"), LocationFactory(code="BKN")
    link = PlatformConnection.objects.create(platform="square", location=here, external_location_id="L1",
                                             receives_orders=receives_orders)
    rows = outbox_rows(here, elsewhere)

    in_python = {row.pk for row in rows if owes_injection(topic=row.topic, payload=row.payload, link=link)}
    in_sql = set(undispatched_rows_owed_to(link).values_list("pk", flat=True))

    assert in_python == in_sql
    # web and phone orders created or recorded here, from anyone but Square itself ("" included)
    assert len(in_sql) == (2 * 2 * 3 if receives_orders else 0)


def test_a_row_already_fanned_out_is_no_longer_on_its_way(db):
    here = LocationFactory(code="OAK")
    link = PlatformConnection.objects.create(platform="toast", location=here, external_location_id="R1",
                                             receives_orders=True)
    row = OutboxEvent.objects.create(topic=topics.ORDER_CREATED, aggregate_type="Order", aggregate_id=1,
                                     payload={"channel": "phone", "location_id": here.pk,
                                              "source_name": "PieLine"})
    assert list(undispatched_rows_owed_to(link)) == [row]

    OutboxEvent.objects.filter(pk=row.pk).update(dispatched_at=row.created_at)

    assert list(undispatched_rows_owed_to(link)) == []
    assert owes_injection(topic=row.topic, payload=row.payload, link=link)  # routing already asked
