"""Every back-office page loads its scripts, styles and fonts from this server: no CDN."""

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from apps.core.services import open_exception
from tests.backoffice.conftest import record_sale

pytestmark = pytest.mark.django_db

REFERENCE = re.compile(r"""(?:src|href|action|hx-get|hx-post)\s*=\s*["']([^"']*)["']|url\(([^)]*)\)""")


def test_no_page_refers_to_anything_outside_the_server(stores, signed_in):
    order = record_sale("OAK", external_id="r1")
    item = open_exception(kind="oversold", title="short", location_code="OAK", dedupe_key="x")
    client = signed_in("admin")
    pages = ["/", "/stock/", "/stock/OAK/BURRITO/", "/orders/", f"/orders/{order.pk}/",
             f"/orders/{order.pk}/timeline/", "/exceptions/", f"/exceptions/{item.pk}/", "/no-such-page/"]
    references = set()
    for path in pages:
        html = client.get(path).content.decode()
        references |= {a or b for a, b in REFERENCE.findall(html)}
    references |= {a or b for a, b in REFERENCE.findall(Client().get("/login/").content.decode())}
    outside = sorted(ref for ref in references if re.match(r"^\s*(https?:)?//", ref))
    assert outside == []
    statics = sorted(ref for ref in references if ref.startswith("/static/"))
    assert statics, "the pages load our style sheet and htmx"
    for ref in statics:
        assert finders.find(ref.removeprefix("/static/")), f"{ref} is not served from static/"


def test_the_style_sheet_loads_no_font_or_image_from_outside():
    css = Path(finders.find("concord/concord.css")).read_text()
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", css)
