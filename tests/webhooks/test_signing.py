"""Kabao-Signature: t=<unix>,v1=HMAC-SHA256(secret, "t.body"), checked as a receiver would."""

from __future__ import annotations

import hashlib
import hmac

from server.webhooks.signing import new_secret, signature_header, verify

BODY = '{"id":"evt_1","type":"card.redeemed","data":{"金额":100}}'.encode()


def test_the_header_is_t_and_v1_over_t_dot_body():
    header = signature_header("whsec_k", 1_800_000_000, BODY)
    expected = hmac.new(b"whsec_k", b"1800000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1800000000,v1={expected}"


def test_verify_accepts_the_right_secret_within_the_tolerance_only():
    secret = new_secret()
    header = signature_header(secret, 1_800_000_000, BODY)
    assert verify(secret, header, BODY, now=1_800_000_100)
    assert not verify(secret, header, BODY, now=1_800_000_301)  # replayed later than 5 minutes
    assert not verify("whsec_other", header, BODY, now=1_800_000_000)
    assert not verify(secret, header, BODY.replace(b"100", b"900"), now=1_800_000_000)
    assert not verify(secret, header.replace("t=1800000000", "t=1800000001"), BODY, now=1_800_000_000)


def test_verify_refuses_malformed_headers():
    secret = new_secret()
    for header in ("", "v1=abc", "t=notanumber,v1=abc", "t=1800000000"):
        assert not verify(secret, header, BODY, now=1_800_000_000)
    assert new_secret() != new_secret() and new_secret().startswith("whsec_")
