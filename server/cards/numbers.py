"""Card numbers and card secrets. Pure functions, no database.

A card number is the product's numeric prefix, random digits and a Luhn check digit (the ISO/IEC 7812
scheme bank cards use), so a mistyped digit or two swapped neighbours are caught before any lookup.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any, Protocol

from server.products.validation import CARD_NO_MAX_LENGTH, CARD_NO_MIN_LENGTH, CARD_NO_MIN_RANDOM_DIGITS

#: Length of numbers of a product that names none (the products service's default too).
DEFAULT_LENGTH = 16
#: Digits of a card secret; see new_card_secret.
SECRET_DIGITS = 12
#: Fresh numbers drawn before issuing gives up; with ≥ 10^8 numbers per product, needing a second is already rare.
CARD_NO_ATTEMPTS = 8


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


def card_no_settings(rule: Mapping[str, Any] | None) -> tuple[str, int]:
    """(prefix, length) of a product's ``card_no`` rule; an empty one means no prefix and DEFAULT_LENGTH."""
    rule = rule or {}
    return rule.get("prefix") or "", rule.get("length") or DEFAULT_LENGTH


class _Sample:
    """A fixed "random" source: the digits 1234567890… so an example number is the same every time."""

    def randbelow(self, exclusive_upper_bound: int) -> int:
        digits = len(str(exclusive_upper_bound - 1))
        return int(("1234567890" * 2)[:digits]) % exclusive_upper_bound


def explain_card_no_rule(rule: Mapping[str, Any] | None) -> list[str]:
    """The card-number rule explained (卡号生成逻辑说明) for platform review, one Chinese sentence a line.

    Built from the product's ``card_no`` settings and this module's constants and generator, so it
    says what issuing actually does; a rule the generator refuses is said to be unusable."""
    prefix, length = card_no_settings(rule)
    try:
        sample = generate_card_no(prefix, length, _Sample())
    except (ValueError, TypeError, AttributeError):  # a mistyped rule: validation reports it
        return [
            f"当前卡号规则（前缀「{prefix}」，长度 {length}）无法生成卡号："
            f"卡号须为 {CARD_NO_MIN_LENGTH}–{CARD_NO_MAX_LENGTH} 位数字，"
            f"前缀之后至少 {CARD_NO_MIN_RANDOM_DIGITS} 位随机数字和 1 位校验位，请商户按智能校验结果修改。",
        ]
    random_digits = length - len(prefix) - 1
    head = f"固定前缀「{prefix}」（{len(prefix)} 位）" if prefix else "无固定前缀"
    return [
        f"卡号结构：共 {length} 位纯数字 = {head} + {random_digits} 位随机数字 + 1 位 Luhn 校验位，例如 {sample}。",
        f"随机数字：由密码学安全随机数生成器（Python secrets）均匀抽取，每个卡种共 10^{random_digits} 种组合，"
        "不按顺序编号，无法由已知卡号推算其他卡号。",
        "校验位：末位按 Luhn 算法（ISO/IEC 7812，银行卡同款模 10 校验）计算，"
        "输错一位或相邻两位颠倒时在查询前即被识别。",
        f"唯一性：卡号在全平台唯一（数据库唯一约束）；发卡时先查重，并发撞号由唯一约束拦截后重新抽取，最多尝试 "
        f"{CARD_NO_ATTEMPTS} 次。",
        f"卡密：每张卡另配 {SECRET_DIGITS} 位随机数字卡密，加密存储（Fernet 对称加密），数据库中不存明文；"
        "仅持卡人本人可查看，查看接口限频并记入审计日志；卡片转赠后重新生成卡密。",
    ]


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
