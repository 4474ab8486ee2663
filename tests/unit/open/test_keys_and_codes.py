"""API keys and bind codes without a database: their shape, their keyed digests, masking."""

from datetime import timedelta

from server.crypto import code_hash_key, keyed_hash
from server.open import keys, services
from server.open.models import ApiKey

CONFIG = {"SECRET_KEY": "unit-secret"}


def test_keys_are_recognised_by_their_prefix_only():
    assert keys.looks_like_key("kb_live_abc") and keys.looks_like_key("kb_test_abc")
    assert not keys.looks_like_key("some-staff-token") and not keys.looks_like_key("kb_other_abc")


def test_the_key_digest_is_keyed_and_not_the_code_digest():
    key = "kb_live_" + "x" * 43
    digest = keys.key_digest(CONFIG, key)
    assert len(digest) == 64 and digest == keys.key_digest(CONFIG, key)
    assert digest != keys.key_digest({"SECRET_KEY": "another"}, key)
    assert digest != keyed_hash(code_hash_key(CONFIG), key)  # a key of its own, derived for API keys
    assert keys.key_digest({**CONFIG, "CODE_HASH_KEY": "pinned"}, key) != digest


def test_bind_codes_are_long_unambiguous_and_normalised_before_hashing():
    codes = {services.new_bind_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(code) == 20 and set(code) <= set("23456789ABCDEFGHJKMNPQRSTUVWXYZ") for code in codes)
    code = codes.pop()
    spaced = " ".join(code[i:i + 4] for i in range(0, 20, 4)).lower()
    assert services.bind_code_digest(CONFIG, spaced) == services.bind_code_digest(CONFIG, code)
    assert code not in services.bind_code_digest(CONFIG, code)


def test_mobiles_are_masked():
    assert services.mask_mobile("13812341234") == "138****1234"
    assert services.mask_mobile("12345") == "****"


def test_last_use_is_written_at_most_once_a_minute():
    class Session:
        def __init__(self):
            self.statements = 0

        def execute(self, statement):
            self.statements += 1

    from server.db import utcnow

    now, session = utcnow(), Session()
    row = ApiKey(id=1, last_used_at=None)
    keys.touch(session, row, now)
    row.last_used_at = now - timedelta(seconds=30)
    keys.touch(session, row, now)
    row.last_used_at = now - timedelta(seconds=61)
    keys.touch(session, row, now)
    assert session.statements == 2


def test_listed_keys_never_carry_the_key():
    from server.db import utcnow

    row = ApiKey(id=3, name="ERP", scopes=["redeem"], mode="live", key_prefix="kb_live_AbCd", key_hash="0" * 64,
                 created_at=utcnow())
    listed = keys.key_to_dict(row)
    assert "key" not in listed and "key_hash" not in listed and listed["status"] == "active"
