"""Console sign-in: a session cookie that names a server-side session, and the permission guard.

The signed session cookie holds only an opaque token; Redis maps it to the Principal, exactly like
the API's bearer tokens (server/auth.py). So a session expires on the server, and logging out
revokes it everywhere — a copied cookie is worthless afterwards. Staff (/console) and platform
admins (/platform) sign in separately, each under its own session key.

Pages declare what they do with ``@console_login_required(Action.X)`` (a page any of several
actions opens, such as the batch approval either approver gives, names them all); the permission
table of server/merchants/permissions.py decides, for the page and for every menu entry and button
leading to it (``permitted(endpoint)``), so the console never shows what the server would refuse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Response, current_app, flash, g, redirect, render_template, request, session, url_for
from redis import Redis
from sqlalchemy.orm import Session

from server.auth import Principal, PrincipalKind, issue_token, resolve_token, revoke_token
from server.console.forms import load_form
from server.console.pages import error_page, wants_json
from server.db import db
from server.errors import Forbidden, Unauthenticated
from server.extensions import get_redis
from server.merchants.permissions import Action, allowed
from server.merchants.schemas import LoginSchema
from server.modes import Mode, use_mode
from server.web import client_ip, error_response

#: Lifetime of a console session on the server, from sign-in.
SESSION_SECONDS = 12 * 3600
#: The session flag of the console's test mode (测试模式), set by its switch in the header.
TEST_MODE_KEY = "console_test_mode"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Realm:
    """One kind of console user: where their token sits in the session and where they sign in."""

    kind: PrincipalKind
    session_key: str
    login_endpoint: str
    home_path: str


STAFF = Realm(PrincipalKind.STAFF, "console_token", "console.login", "/console")
ADMIN = Realm(PrincipalKind.ADMIN, "platform_token", "platform_console.login", "/platform")


def sign_in(realm: Realm, principal: Principal) -> None:
    """Start a server-side session; a new CSRF secret goes with the new identity."""
    sign_out(realm)
    session.pop("csrf_token", None)
    session.pop(TEST_MODE_KEY, None)
    session[realm.session_key] = issue_token(get_redis(), principal, SESSION_SECONDS)


def sign_out(realm: Realm) -> None:
    token = session.pop(realm.session_key, None)
    if token:
        revoke_token(get_redis(), token)


def signed_in(realm: Realm) -> Principal | None:
    token = session.get(realm.session_key)
    principal = resolve_token(get_redis(), token) if isinstance(token, str) else None
    return principal if principal is not None and principal.kind == realm.kind else None


def safe_next(realm: Realm, target: str | None) -> str:
    """Where to go after signing in: a path of this console, never another site."""
    parts = urlsplit(target or "")
    inside = parts.path == realm.home_path or parts.path.startswith(realm.home_path + "/")
    if not target or parts.scheme or parts.netloc or "\\" in target or not inside:
        return realm.home_path + "/"
    return target


#: Where a principal lands after signing in when no page was asked for (None: the console's home).
Landing = Callable[[Principal], str | None]


def login_page(realm: Realm, template: str, landing: Landing | None = None) -> Response | str:
    """The sign-in form; someone already signed in goes on (unless a refused post shows the form again)."""
    principal = signed_in(realm)
    if principal is not None and request.method == "GET":
        return redirect(safe_next(realm, request.args.get("next") or (landing(principal) if landing else None)))
    return render_template(template)


def login_with_password(realm: Realm, authenticate: Callable[[Session, Redis, str, str, str], Principal],
                        landing: Landing | None = None) -> Response:
    """Check the posted username and password with the realm's service, then start the session."""
    form = load_form(LoginSchema(), request.form)
    principal = authenticate(db.session, get_redis(), form["username"], form["password"], client_ip())
    sign_in(realm, principal)
    default = landing(principal) if landing else None
    return redirect(safe_next(realm, request.form.get("next") or default), code=303)


def logout(realm: Realm) -> Response:
    sign_out(realm)
    flash("已退出登录")
    return redirect(url_for(realm.login_endpoint), code=303)


def may(role: str | None, actions: tuple[Action, ...]) -> bool:
    """Whether ``role`` may perform one of ``actions``; no actions means anyone signed in."""
    return not actions or any(allowed(role, action) for action in actions)


def _guard(realm: Realm, actions: tuple[Action, ...]) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            principal = signed_in(realm)
            if principal is None:
                if wants_json():
                    return error_response(Unauthenticated("登录已过期，请重新登录"))
                back = request.full_path.rstrip("?") if request.method == "GET" else None
                return redirect(url_for(realm.login_endpoint, next=back))
            g.principal = principal  # the services' caller; also for the refusal page, which shows this user's menus
            if realm is STAFF and in_test_mode(principal):
                use_mode(db.session, Mode.TEST)  # every page now reads and writes only the test books
                g.test_mode = True  # the banner and the switch of base.html
            if not may(principal.role, actions):
                return error_page(Forbidden("当前角色无权访问此页面"))
            return view(*args, **kwargs)

        guarded.required_actions = actions  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorator


def in_test_mode(principal: Principal) -> bool:
    """Whether the staff member switched the console to test mode (and their role may use it)."""
    return bool(session.get(TEST_MODE_KEY)) and allowed(principal.role, Action.USE_TEST_MODE)


def console_login_required(*actions: Action) -> Callable[[F], F]:
    """A signed-in staff member whose role may perform one of ``actions`` (any role when none are given)."""
    return _guard(STAFF, actions)


def platform_login_required(view: F) -> F:
    """A signed-in platform admin."""
    return _guard(ADMIN, ())(view)


def permitted(endpoint: str) -> bool:
    """Whether the signed-in user may open ``endpoint``: decides which menus and buttons are shown."""
    return may(g.principal.role, getattr(current_app.view_functions[endpoint], "required_actions", ()))
