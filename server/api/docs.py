"""The interactive API reference and the integration guide, served offline.

``GET /api/v1/docs`` is Swagger UI over ``/api/v1/openapi.json``; its assets come from the
``swagger-ui-bundle`` package and are served by Kabao itself (no CDN; the online validator badge is
off). ``GET /api/v1/docs/guide`` is the Chinese integration guide (curl examples, webhook signatures,
idempotency and errors).
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template, send_from_directory
from swagger_ui_bundle import swagger_ui_path

blueprint = Blueprint("api_reference", __name__, url_prefix="/api/v1/docs")

#: Swagger UI styles itself inline; nothing is loaded from anywhere but this server.
_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                                "object-src 'none'; base-uri 'self'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
}
#: The Swagger UI files the page uses (the package also ships source maps and other bundles).
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                    "favicon-32x32.png", "favicon-16x16.png"})


def _page(template: str) -> Response:
    return Response(render_template(template), headers=_HEADERS, content_type="text/html; charset=utf-8")


@blueprint.get("")
def reference() -> Response:
    return _page("api_docs/reference.html")


@blueprint.get("/guide")
def guide() -> Response:
    return _page("api_docs/guide.html")


@blueprint.get("/assets/<name>")
def asset(name: str) -> Response:
    if name not in ASSETS:
        return Response("not found", status=404, content_type="text/plain")
    response = send_from_directory(str(swagger_ui_path), name, max_age=86400)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
