"""The README's first API call works as written against the demo merchant `make run` seeds:
a new user copies it before reading anything else."""

import io
import json
import re
from pathlib import Path

from django.core.management import call_command

from tests.helpers import post_order

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_order_body() -> dict:
    """The JSON body of the README's `curl ... /api/v1/orders` example."""
    text = README.read_text()
    section = text[text.index("## Placing an order"):]
    match = re.search(r"-d '(\{.*?\})'", section, re.DOTALL)
    assert match, "the README's order example is gone"
    return json.loads(match.group(1))


def test_the_readme_order_example_is_accepted_by_the_demo_merchant(db, phone):
    call_command("seed_demo", stdout=io.StringIO())
    body = readme_order_body()

    response = post_order(phone, body, key="call-8812")

    assert response.status_code == 201, response.json()
    assert response.json()["total"] == body["expected_total"]
