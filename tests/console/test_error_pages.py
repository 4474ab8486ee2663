"""A browser on /console or /platform gets the console's error page for every failure — unknown page,
body too large, bad URL segment — in Chinese with the request id; a script asking for JSON the envelope."""

from __future__ import annotations

import pytest

HTML = {"Accept": "text/html,application/xhtml+xml"}


@pytest.mark.parametrize("path", ["/console/no-such-page", "/platform/no-such-page"])
def test_an_unknown_console_page_is_an_html_404(client, path):
    response = client.get(path, headers=HTML)
    assert response.status_code == 404 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "接口不存在" in page and response.headers["X-Request-Id"] in page
    assert response.headers["Content-Security-Policy"] and response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_console_form_over_the_limit_is_an_html_413(client):
    response = client.post("/console/login", data={"username": "a" * (2 * 1024 * 1024), "password": "x"},
                           headers=HTML)
    assert response.status_code == 413 and response.mimetype == "text/html"
    assert "请求体过大" in response.get_data(as_text=True)


def test_a_console_script_asking_for_json_gets_the_envelope(client):
    response = client.get("/console/no-such-page", headers={"Accept": "application/json"})
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "NOT_FOUND"


def test_a_bad_url_segment_on_a_console_page_is_shown_on_the_page(staff_client):
    response = staff_client("owner").get(f"/console/products/{2**63}", headers=HTML)
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "9223372036854775807" in response.get_data(as_text=True)


def test_a_nul_in_a_console_filter_is_refused_on_the_page(staff_client):
    response = staff_client("owner").get("/console/batches?status=active%00", headers=HTML)
    assert response.status_code == 400 and response.mimetype == "text/html"


def test_a_bad_url_segment_on_a_form_post_is_shown_on_an_error_page(staff_client):
    from tests.console.helpers import post_form

    response = post_form(staff_client("owner"), f"/console/products/{2**63}/submit", headers=HTML)
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "9223372036854775807" in response.get_data(as_text=True)
