"""Web console: merchants at /console, platform operators at /platform.

Server-rendered Jinja pages over the same domain services as the JSON API; the console has no
business rules of its own. Sessions are cookies naming server-side sessions (auth.py); every form
post carries a CSRF token (Flask-WTF).
"""

from __future__ import annotations

from importlib import import_module

from flask import Flask
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()


def init_console(app: Flask) -> None:
    """Register the console blueprints with their CSRF protection, session cookie flags and filters.

    CSRF is checked only on the console's own blueprints (``csrf.protect()`` before each of their
    requests), not app-wide: the JSON API and WeChat's callbacks authenticate without cookies, and
    a blueprint added later must not start refusing their posts."""
    from server.cards.face_links import face_links
    from server.console import filters, merchant_views, platform_views
    from server.console.auth import SESSION_SECONDS, permitted
    from server.console.forms import new_idempotency_key
    from server.console.pages import browser_error_page
    from server.web import ERROR_PAGE

    for pages_module in ("issuance_views", "counter_views", "physical_views", "report_views", "member_views",
                         "api_key_views", "webhook_views", "test_mode_views"):
        import_module(f"server.console.{pages_module}")  # their pages join the merchant console's blueprint

    app.config.update(
        SESSION_COOKIE_NAME="kabao_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=app.config["APP_ENV"] == "production",
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=SESSION_SECONDS,
    )
    csrf.init_app(app)
    app.extensions[ERROR_PAGE] = browser_error_page  # errors outside a page's own handling, as HTML
    filters.register(app)
    for template_global in (permitted, merchant_views.can_happen, new_idempotency_key):
        app.add_template_global(template_global)
    app.add_template_global(lambda product_id: face_links().product(product_id), "product_face_url")
    app.register_blueprint(merchant_views.blueprint)
    app.register_blueprint(platform_views.blueprint)
