"""Helpers of the console tests: read the CSRF token a page carries, post forms, read messages."""

from __future__ import annotations

import re
import uuid

from flask.testing import FlaskClient

_META_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def csrf_token(client: FlaskClient, console: str = "console") -> str:
    """The CSRF token a page of /console or /platform hands out to this client's session."""
    page = client.get(f"/{console}/login", follow_redirects=True)
    match = _META_TOKEN.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {page.request.path}"
    return match[1]


def alerts(response) -> list[str]:
    """The texts of the role=alert elements of a page (the error on top and beside fields)."""
    return re.findall(r'role="alert"[^>]*>([^<]+)<', response.get_data(as_text=True))


def post_form(client: FlaskClient, path: str, data: dict | None = None, **kwargs):
    """Post a form the way a browser does: with the token its page carried, and the one-time
    idempotency key of a freshly rendered form (unless ``data`` gives one)."""
    token = csrf_token(client, path.strip("/").split("/")[0])
    return client.post(path, data={"csrf_token": token, "idempotency_key": str(uuid.uuid4()), **(data or {})},
                       **kwargs)


def form_inputs(page, action: str) -> dict[str, str]:
    """The hidden inputs of the page's form that posts to ``action`` (its CSRF token, its idempotency key)."""
    html = page.get_data(as_text=True)
    form = re.search(r'<form[^>]*action="' + re.escape(action) + r'"[^>]*>(.*?)</form>', html, re.S)
    assert form, f"no form posting to {action}"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form[1]))
