"""Card numbers and card secrets. Pure functions, no database.

A card number is the product's numeric prefix, random digits and a Luhn check digit (the ISO/IEC 7812
scheme bank cards use), so a mistyped digit or two swapped neighbours are caught before any lookup.
"""

from __future__ import annotations

import secrets
from typing import Protocol

from server.products.validation import CARD_NO_MAX_LENGTH, CARD_NO_MIN_LENGTH, CARD_NO_MIN_RANDOM_DIGITS

#: Length of numbers of a product that names none (the products service's default too).
DEFAULT_LENGTH = 16
#: Digits of a card secret; see new_card_secret.
SECRET_DIGITS = 12


class RandomSource(Protocol):
    """What generate_card_no needs from a random source: ``secrets`` itself in production."""

    def randbelow(self, exclusive_upper_bound: int) -> int: ...


def _is_digits(text: str) -> bool:
    """ASCII digits only: str.isdigit also accepts superscripts and other scripts' digits."""
    return text.isascii() and text.isdigit()


def luhn_check_digit(payload: str) -> str:
    """The digit that makes ``payload`` + digit pass the Luhn check."""
    if not _is_digits(payload):
        raise ValueError("a Luhn payload is made of digits")
    total = 0
    # Walking from the right, the digit next to the future check digit is doubled, then every second one.
    for position, char in enumerate(reversed(payload)):
        digit = ord(char) - 48
        if position % 2 == 0:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return str(-total % 10)


def luhn_valid(number: str) -> bool:
    """Whether the last digit of ``number`` is the Luhn check digit of the rest."""
    return len(number) >= 2 and _is_digits(number) and luhn_check_digit(number[:-1]) == number[-1]


def is_valid_card_no(number: str) -> bool:
    """A well-formed card number: 12–19 digits ending in a correct Luhn check digit."""
    return CARD_NO_MIN_LENGTH <= len(number) <= CARD_NO_MAX_LENGTH and luhn_valid(number)


def generate_card_no(prefix: str, length: int, rng: RandomSource = secrets) -> str:
    """``prefix`` + uniformly random digits + Luhn check digit, ``length`` digits in all.

    At least 8 random digits, as product validation demands, so a product has 10^8 numbers and a
    random draw almost never collides; the caller still retries on the unique constraint."""
    if prefix and not _is_digits(prefix):
        raise ValueError(f"card number prefix must be digits: {prefix!r}")
    if not CARD_NO_MIN_LENGTH <= length <= CARD_NO_MAX_LENGTH:
        raise ValueError(f"card number length must be {CARD_NO_MIN_LENGTH}–{CARD_NO_MAX_LENGTH}: {length}")
    random_digits = length - len(prefix) - 1
    if random_digits < CARD_NO_MIN_RANDOM_DIGITS:
        raise ValueError(f"prefix {prefix!r} leaves fewer than {CARD_NO_MIN_RANDOM_DIGITS} random digits")
    payload = prefix + str(rng.randbelow(10**random_digits)).zfill(random_digits)
    return payload + luhn_check_digit(payload)


def new_card_secret() -> str:
    """A 12-digit random card secret (卡密).

    Digits, because the holder reads it out or a cashier types it on a numeric keypad with the card
    number (``CARDNO:SECRET``); 12 of them give 10^12 (~40 bits) per card — far beyond the guessable
    5-digit passwords of older systems — and every path that accepts a secret is authenticated and
    rate-limited, so it cannot be brute-forced online. It is stored encrypted, never hashed, because
    the owner may reveal it."""
    return str(secrets.randbelow(10**SECRET_DIGITS)).zfill(SECRET_DIGITS)
