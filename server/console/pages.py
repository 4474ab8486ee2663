"""How console pages answer errors: on the page the user was on, in Chinese, never as a JSON envelope.

A form post that a domain service refuses re-renders the page that holds the form (named with
``@shows_errors_on``), with the message on top, each field's message beside it and the typed values
kept; ``g.error`` carries the error to the templates. Scripts asking for JSON get the API's envelope.
The request boundary (server/web.py) rolls back every response of status ≥ 400, so nothing a failed
request did is committed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, g, make_response, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from markupsafe import escape

from server.audit.services import AUDIT_IP
from server.console import csrf
from server.db import db
from server.errors import AppError, ValidationError
from server.http_safety import BadSegment
from server.web import client_ip, error_response

F = TypeVar("F", bound=Callable[..., Any])

#: Blueprint name → template of its generic error page.
_ERROR_TEMPLATES: dict[str, str] = {}

#: Headers of every console response: no framing, no foreign scripts, no content sniffing.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def shows_errors_on(page_endpoint: str) -> Callable[[F], F]:
    """Declare the page (a GET view) that shows this post's errors; it gets the URL arguments it shares."""

    def decorator(view: F) -> F:
        view.error_page = page_endpoint  # type: ignore[attr-defined]
        return view

    return decorator


def wants_json() -> bool:
    """The console's scripts ask for JSON; a browser navigating asks for HTML."""
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def see_other(endpoint: str, **values: Any) -> Response:
    """Where a successful form post goes: a GET of the page that shows the result."""
    return redirect(url_for(endpoint, **values), code=303)


def json_body() -> dict[str, Any]:
    """The JSON object a console script posted."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError({"body": "请求体不是有效的 JSON"})
    return body


def error_page(error: AppError) -> Response:
    """The blueprint's generic error page (or the JSON envelope for a script), with the error's status."""
    if wants_json():
        return error_response(error)
    g.error = error
    response = make_response(render_template(_ERROR_TEMPLATES[request.blueprint or ""]))
    return _with_status(response, error)


def browser_error_page(error: AppError) -> Response | None:
    """For a browser on a console path that failed outside a page's own handling (unknown URL, body too
    large, database or Redis down): the console's error page; None anywhere else, or when the caller
    wants JSON."""
    if not request.path.startswith(("/console", "/platform")) or wants_json():
        return None
    template = "platform/error.html" if request.path.startswith("/platform") else "console/error.html"
    g.error = error
    try:
        response = make_response(render_template(template))
    except Exception:  # the page itself needs what is down: plain HTML, still in Chinese
        response = make_response(f"<!doctype html><meta charset=utf-8><title>出错了</title>"
                                 f"<p>{escape(error.message)}</p>")
    response.headers.setdefault("Content-Type", "text/html; charset=utf-8")
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return _with_status(response, error)


def show_error(error: AppError) -> Response:
    """Roll back, then show ``error`` on the page the failed form came from."""
    db.session.rollback()
    if wants_json():
        return error_response(error)
    view = current_app.view_functions.get(request.endpoint or "")
    page = getattr(view, "error_page", None)
    if page is None:
        return error_page(error)
    g.error = error
    shared = {name for rule in current_app.url_map.iter_rules(page) for name in rule.arguments}
    arguments = {name: value for name, value in (request.view_args or {}).items() if name in shared}
    if any(isinstance(value, BadSegment) for value in arguments.values()):  # the URL itself was refused
        return error_page(error)
    try:
        response = make_response(current_app.view_functions[page](**arguments))
    except AppError:  # the page itself is gone (e.g. another merchant's product): say what failed
        db.session.rollback()
        return error_page(error)
    return _with_status(response, error)


def _with_status(response: Response, error: AppError) -> Response:
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def _remember_ip() -> None:
    """Every audit entry a console request records carries the caller's address."""
    db.session.info[AUDIT_IP] = client_ip()


def install(blueprint: Blueprint, *, error_template: str) -> None:
    """Give a console blueprint its CSRF check, error pages and security headers."""
    _ERROR_TEMPLATES[blueprint.name] = error_template
    blueprint.before_request(csrf.protect)
    blueprint.before_request(_remember_ip)
    blueprint.register_error_handler(AppError, show_error)

    @blueprint.errorhandler(CSRFError)
    def refuse_forged_post(_error: CSRFError) -> Response:
        return show_error(AppError("页面已过期或来源不明，请刷新页面后重试", code="CSRF_FAILED"))

    @blueprint.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
