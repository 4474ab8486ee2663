"""Redemption-code helpers without a database: the alphabet, typing tolerance, CSV in and out."""

from collections import Counter

import pytest

from server.errors import ValidationError
from server.issuance.codes import (
    CODE_ALPHABET,
    BindOutcome,
    bulk_result_csv,
    code_suffix,
    codes_csv,
    new_codes,
    normalize_code,
    parse_bulk_csv,
)


def test_the_alphabet_has_no_look_alikes():
    assert len(CODE_ALPHABET) == len(set(CODE_ALPHABET)) == 31
    assert not set(CODE_ALPHABET) & set("0O1IL")


def test_a_hundred_thousand_codes_are_long_unique_and_use_every_character_evenly():
    codes = new_codes(100_000)
    assert len(set(codes)) == 100_000
    assert {len(code) for code in codes} == {16}
    counts = Counter("".join(codes))
    assert set(counts) == set(CODE_ALPHABET)
    expected = 1_600_000 / 31
    assert all(abs(count - expected) < expected * 0.03 for count in counts.values())


def test_codes_are_normalised_as_people_type_them():
    assert normalize_code(" abcd-efgh ijkm\tnpqr ") == "ABCDEFGHIJKMNPQR"
    assert code_suffix("abcd-efgh-ijkm-npqr") == "NPQR"


def test_the_csv_streams_in_pieces_and_reports_nothing_when_complete():
    interrupted = []
    pieces = list(codes_csv(["A" * 16] * 12_000, lambda: interrupted.append(True)))
    assert pieces[0] == "code\r\n"
    assert len(pieces) == 1 + 3
    assert "".join(pieces).count("\r\n") == 12_001
    assert interrupted == []


def test_a_stream_closed_early_reports_the_interruption():
    interrupted = []
    stream = codes_csv(["A" * 16] * 12_000, lambda: interrupted.append(True))
    next(stream)
    next(stream)
    stream.close()
    assert interrupted == [True]


def test_bulk_csv_rows_are_read_with_a_bom_and_blank_lines_skipped():
    data = "\ufeffcode,openid\r\nABCD, o-1 \r\n\r\nEFGH\r\n".encode()
    assert parse_bulk_csv(data) == [("ABCD", "o-1"), ("EFGH", "")]


@pytest.mark.parametrize("data", [b"", b"code\nA\n", b"openid,code\n", b"code,openid\n", b"\xff\xfe\x00c"])
def test_bulk_csv_needs_its_header_rows_and_utf8(data):
    with pytest.raises(ValidationError):
        parse_bulk_csv(data)


def test_bulk_csv_has_a_row_limit(monkeypatch):
    from server.issuance import codes

    monkeypatch.setattr(codes, "MAX_BULK_ROWS", 2)
    with pytest.raises(ValidationError):
        parse_bulk_csv(b"code,openid\na,b\nc,d\ne,f\n")


def test_the_result_csv_has_one_line_per_row():
    text = bulk_result_csv([BindOutcome("NPQR", "o-1", "ok", 7), BindOutcome("WXYZ", "o-2", "CODE_INVALID")])
    assert text.splitlines() == ["code_suffix,openid,result,card_id", "NPQR,o-1,ok,7", "WXYZ,o-2,CODE_INVALID,"]
