"""How many card numbers and secrets there are to guess: every random digit is drawn over all ten
values, so a product's numbers and every secret cover the whole space the rules promise."""

import secrets

import pytest

from server.cards.numbers import generate_card_no, is_valid_card_no, luhn_check_digit, luhn_valid, new_card_secret


class _Recording:
    """A random source that remembers the range it is asked for and answers its top."""

    def __init__(self) -> None:
        self.bounds: list[int] = []

    def randbelow(self, bound: int) -> int:
        self.bounds.append(bound)
        return bound - 1


@pytest.mark.parametrize(("prefix", "length", "random_digits"), [("62", 16, 13), ("", 12, 11), ("8101", 19, 14),
                                                                  ("123", 12, 8)])
def test_every_random_digit_is_drawn_from_ten(prefix, length, random_digits):
    rng = _Recording()
    number = generate_card_no(prefix, length, rng=rng)
    assert rng.bounds == [10**random_digits]
    assert number == prefix + "9" * random_digits + luhn_check_digit(prefix + "9" * random_digits)
    assert is_valid_card_no(number)


def test_a_secret_is_one_of_ten_to_the_twelve(monkeypatch):
    asked: list[int] = []

    def top(bound: int) -> int:
        asked.append(bound)
        return bound - 1

    monkeypatch.setattr(secrets, "randbelow", top)
    assert new_card_secret() == "9" * 12
    monkeypatch.setattr(secrets, "randbelow", lambda bound: 7)
    assert new_card_secret() == "000000000007"
    assert asked == [10**12]


def test_the_shortest_luhn_numbers_are_two_digits():
    assert luhn_valid("18") and luhn_valid("00")
    assert not luhn_valid("17") and not luhn_valid("8")


def test_a_check_digit_needs_digits():
    with pytest.raises(ValueError):
        luhn_check_digit("62a")


def test_a_prefix_that_is_not_digits_is_named_in_the_refusal():
    with pytest.raises(ValueError, match="prefix"):
        generate_card_no("62a", 16)
