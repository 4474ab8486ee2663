"""Card numbers: Luhn check digits on known vectors, and generated numbers that are valid and uniformly drawn."""

import pytest

from server.cards.numbers import (
    generate_card_no,
    is_valid_card_no,
    luhn_check_digit,
    luhn_valid,
    new_card_secret,
)

#: Published test numbers of the card schemes, and the classic Luhn example.
VALID = ["79927398713", "4111111111111111", "4539578763621486", "378282246310005", "6011111111111117",
         "5555555555554444", "3530111333300000"]


@pytest.mark.parametrize("number", VALID)
def test_known_numbers_pass(number):
    assert luhn_valid(number)
    assert luhn_check_digit(number[:-1]) == number[-1]


@pytest.mark.parametrize("number", ["79927398710", "79927398714", "4111111111111112", "4111111111111121"])
def test_one_wrong_or_two_swapped_digits_fail(number):
    assert not luhn_valid(number)


@pytest.mark.parametrize("number", ["", "7", "7992739871a", "7992 7398 713", "١٢٣٤٥٦٧٨٩٠١٢٣", "²3"])
def test_non_digits_fail(number):
    assert not luhn_valid(number)


def _with_check_digit(payload: str) -> str:
    return payload + luhn_check_digit(payload)


@pytest.mark.parametrize(("digits", "valid"), [(11, False), (12, True), (16, True), (19, True), (20, False)])
def test_card_numbers_are_twelve_to_nineteen_digits(digits, valid):
    assert is_valid_card_no(_with_check_digit("62" + "7" * (digits - 3))) is valid


def test_a_hundred_thousand_generated_numbers_are_valid_and_spread_over_all_random_digits():
    numbers = [generate_card_no("6201", 16) for _ in range(100_000)]
    assert all(len(n) == 16 and n.startswith("6201") and is_valid_card_no(n) for n in numbers)
    # 100,000 uniform draws from 10^11 numbers repeat one about 0.05 times (the birthday bound), so
    # more than 3 repeats (odds ~3e-7) means the draw covers far fewer numbers than it should; a
    # repeat itself is legitimate: the issuing service retries on the unique constraint.
    assert len(numbers) - len(set(numbers)) <= 3


@pytest.mark.parametrize(("prefix", "length"), [("", 12), ("8101", 16), ("62", 19), ("123", 12)])
def test_every_allowed_shape(prefix, length):
    number = generate_card_no(prefix, length)
    assert len(number) == length and number.startswith(prefix) and is_valid_card_no(number)


class _Zeros:
    def randbelow(self, bound: int) -> int:
        return 0


def test_the_random_part_is_zero_padded():
    assert generate_card_no("62", 12, rng=_Zeros()) == _with_check_digit("62000000000")


@pytest.mark.parametrize(("prefix", "length"), [("62a", 16), ("62", 11), ("62", 20), ("1234", 12), ("-1", 16)])
def test_impossible_rules_are_refused(prefix, length):
    with pytest.raises(ValueError):
        generate_card_no(prefix, length)


def test_secrets_are_twelve_random_digits():
    secrets = {new_card_secret() for _ in range(1000)}
    assert len(secrets) == 1000
    assert all(len(s) == 12 and s.isdigit() for s in secrets)
