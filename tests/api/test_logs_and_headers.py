"""What operators and browsers see around every answer: a request id on the response, in the error
body and on each log line; no token of a URL and no bound SQL parameter in a log; HSTS and nosniff."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from server import create_app
from server.config import _engine_options, load_config

PRODUCTION = {"APP_ENV": "production", "SECRET_KEY": "a-real-production-secret",
              "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/never-connected", "WECHAT_SIMULATOR": False}


@pytest.fixture
def production_client(app):
    """The app as configured in production (its database is never reached by these requests)."""
    # No periodic jobs: they would run against the database that is never there, for the whole session.
    served = create_app({**PRODUCTION, "REDIS_CLIENT": app.extensions["kabao_redis"], "JOBS_SCHEDULE": False})
    return served.test_client()


@pytest.mark.parametrize("path", ["/api/v1/openapi.json", "/api/v1/no-such-thing", "/console/login", "/static/x.css"])
def test_production_sends_hsts_and_nosniff_on_every_response(production_client, path):
    response = production_client.get(path)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert len(response.headers["X-Request-Id"]) == 32


def test_development_sends_nosniff_but_no_hsts(client):
    response = client.get("/api/v1/openapi.json")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response.headers


def test_every_response_has_a_request_id_and_errors_carry_it(client):
    ok, missing = client.get("/healthz"), client.get("/api/v1/no-such-thing")
    assert ok.headers["X-Request-Id"] != missing.headers["X-Request-Id"]
    assert missing.get_json()["request_id"] == missing.headers["X-Request-Id"]
    assert missing.get_json()["error"]["code"] == "NOT_FOUND"


def test_a_sane_incoming_request_id_is_kept_and_anything_else_replaced(client):
    kept = client.get("/healthz", headers={"X-Request-Id": "nginx-0123456789abcdef"})
    assert kept.headers["X-Request-Id"] == "nginx-0123456789abcdef"
    replaced = client.get("/healthz", headers={"X-Request-Id": "evil <script>alert(1)</script>"})
    assert "evil" not in replaced.headers["X-Request-Id"]


def test_each_log_line_of_a_request_names_its_request_id(app_config, app, caplog):
    traced = create_app({**app_config, "REDIS_CLIENT": app.extensions["kabao_redis"]})

    def noisy():
        logging.getLogger("server.somewhere").warning("something worth a look")
        logging.getLogger("sqlalchemy.engine").warning("a library speaks too")
        return "ok"

    traced.add_url_rule("/noisy", view_func=noisy)
    with caplog.at_level(logging.WARNING):
        response = traced.test_client().get("/noisy")
    lines = [r for r in caplog.records if r.getMessage() in ("something worth a look", "a library speaks too")]
    assert len(lines) == 2
    assert {r.request_id for r in lines} == {response.headers["X-Request-Id"]}
    assert logging.getLogRecordFactory()("x", logging.INFO, "f", 1, "m", (), None).request_id == "-"  # no request


@pytest.mark.parametrize(("line", "secret"), [
    ('127.0.0.1 - - [x] "GET /api/v1/mp/qr/Q1w2E3r4T5y6.png HTTP/1.1" 200 -', "Q1w2E3r4T5y6"),
    ('127.0.0.1 - - [x] "POST /api/v1/mp/transfers/tR4nSf3rT0k3n/accept HTTP/1.1" 200 -', "tR4nSf3rT0k3n"),
    ('"GET /sns/jscode2session?appid=wx1&secret=S3CR3T&js_code=C0D3 HTTP/1.1" 200', "S3CR3T"),
    ('"GET /cgi-bin/message/subscribe/send?access_token=AcC3sS HTTP/1.1" 200', "AcC3sS"),
])
def test_tokens_in_urls_are_masked_in_access_and_error_logs(app, caplog, line, secret):
    with caplog.at_level(logging.INFO):
        logging.getLogger("werkzeug").info("%s", line)  # the dev server's access log
        logging.getLogger("server.web").error("unhandled error on %s", line)  # our own error lines
    messages = [r.getMessage() for r in caplog.records if r.name in ("werkzeug", "server.web")][-2:]
    assert all(secret not in message and "***" in message for message in messages), messages


def test_production_hides_bound_sql_parameters_from_error_messages():
    options = load_config(PRODUCTION)["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["hide_parameters"] is True
    engine = create_engine("sqlite://", **_engine_options("sqlite://", production=True))
    with pytest.raises(OperationalError) as failure, engine.connect() as connection:
        connection.execute(text("INSERT INTO no_such_table VALUES (:secret)"), {"secret": "CARD-SECRET-246810"})
    assert "CARD-SECRET-246810" not in str(failure.value)
    assert "hidden" in str(failure.value)


def test_development_still_shows_parameters_for_debugging():
    assert "hide_parameters" not in load_config({"APP_ENV": "development"})["SQLALCHEMY_ENGINE_OPTIONS"]
