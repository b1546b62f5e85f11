"""No input to the order endpoint returns a 500, and a refused one leaves nothing behind."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import row_counts

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=False),
                    st.text(max_size=20), st.sampled_from(["OAK", "BURRITO", "EXTRA-GUAC", "pickup"]))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)), max_leaves=20)
line = st.fixed_dictionaries({"sku": json_values, "quantity": json_values},
                             optional={"modifiers": json_values, "note": json_values})
order_like = st.fixed_dictionaries(
    {"location": st.one_of(st.just("OAK"), json_values), "fulfillment": json_values,
     "lines": st.one_of(st.lists(line, max_size=3), json_values)},
    optional={"customer": json_values, "tender": json_values, "expected_total": json_values,
              "external_id": json_values, "source_name": json_values})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(order_like, json_values))
def test_any_json_body_gets_a_clear_answer_never_a_500(shop, phone, body):
    before = row_counts()
    response = phone.post("/api/v1/orders", data=json.dumps(body), content_type="application/json",
                          HTTP_IDEMPOTENCY_KEY=f"fuzz-{hash(json.dumps(body, sort_keys=True))}")

    assert response.status_code < 500, response.content
    if response.status_code != 201:
        errors = response.json()["errors"]
        assert errors and all(e["code"] and e["detail"] for e in errors)
        assert row_counts() == before
