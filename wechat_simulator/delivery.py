"""Notify delivery with WeChat's retry behaviour, compressed in time.

WeChat retries a notify until the merchant answers HTTP 200 with ``return_code`` SUCCESS (v2 waits
15/15/30/180/1800… s); the simulator does the same on a short schedule so tests see retries quickly.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import requests

from wechat_simulator.signing import parse_xml

logger = logging.getLogger(__name__)

DEFAULT_NOTIFY_DELAYS: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0)
DELIVERY_TIMEOUT = 5.0


def deliver_in_background(
    url: str,
    body: str,
    *,
    delays: Sequence[float],
    record: Callable[[dict[str, Any]], None],
    sign: Callable[[str], dict[str, str]] | None = None,
) -> threading.Thread:
    """POST ``body`` to ``url`` now and after each of ``delays`` until it is acknowledged.

    Runs in a daemon thread so the simulated payment answers at once, as WeChat's does; every
    attempt is passed to ``record`` (the simulator keeps them for ``GET …/_notifies/<id>``).
    ``sign`` makes it a v3 notify: JSON signed anew for each attempt (its headers), acknowledged by
    any 2xx answer; otherwise a v2 XML notify, acknowledged by SUCCESS XML.
    """
    thread = threading.Thread(
        target=_deliver, args=(url, body, tuple(delays), record, sign), name="wxsim-notify", daemon=True
    )
    thread.start()
    return thread


def _deliver(
    url: str, body: str, delays: tuple[float, ...], record: Callable[[dict[str, Any]], None],
    sign: Callable[[str], dict[str, str]] | None = None,
) -> None:
    for attempt, delay in enumerate((0.0, *delays), start=1):
        if delay:
            time.sleep(delay)
        entry: dict[str, Any] = {"attempt": attempt, "url": url}
        try:
            if sign is None:
                headers = {"Content-Type": "text/xml; charset=utf-8"}
            else:
                headers = {"Content-Type": "application/json", **sign(body)}
            response = requests.post(url, data=body.encode("utf-8"), headers=headers, timeout=DELIVERY_TIMEOUT)
            entry.update(_outcome(response, v3=sign is not None))
        except requests.RequestException as exc:
            entry.update(status=None, error=type(exc).__name__, ok=False)
        try:
            record(entry)
        except Exception:  # bookkeeping must not stop the delivery
            logger.exception("wechat simulator could not record a notify attempt")
        if entry["ok"]:
            return
    logger.warning("wechat simulator gave up delivering a notify to %s after %d attempts", url, attempt)


def _outcome(response: requests.Response, *, v3: bool) -> dict[str, Any]:
    """v2 wants HTTP 200 with SUCCESS XML; v3 any 2xx (a refusal is 4xx/5xx ``{"code", "message"}``)."""
    if not v3:
        reply = parse_xml(response.content) or {}
        return {"status": response.status_code, "return_code": reply.get("return_code"),
                "return_msg": reply.get("return_msg"),
                "ok": response.status_code == 200 and reply.get("return_code") == "SUCCESS"}
    ok = 200 <= response.status_code < 300
    try:
        reply = response.json() if response.content else {}
    except ValueError:
        reply = {}
    message = reply.get("message") if isinstance(reply, dict) else None
    return {"status": response.status_code, "return_code": "SUCCESS" if ok else "FAIL", "return_msg": message,
            "ok": ok}
