"""Smart validation (智能校验) of a card product: pure rules over the docs/api.md product dict.

Every check is a small function registered with ``@error_rule`` or ``@warning_rule``, so adding a
check is adding a function. Rules read the product through ``_Product``, whose getters answer ``None``
for a missing *or* mistyped value: a wrong type is reported once (by ``fields_have_expected_types`` or
``money_is_whole_fen``) and no rule can raise on it. Bracketed numbers cite the rules of
docs/regulations.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import MAXYEAR, date, timedelta
from typing import Any, Literal

from server.money import yuan
from server.products.models import CardKind, DeductionOrder
from server.products.regional_rules import RegionalRule, rules_for

#: The closed sets of choices, as the enums the services switch on define them (tuples: a bad
#: input may be unhashable).
KINDS = tuple(CardKind)
PREPAID_KINDS = tuple(kind for kind in CardKind if kind.prepaid)
DEDUCTION_ORDERS = tuple(DeductionOrder)
VALIDITY_TYPES = ("permanent", "fixed", "relative")

NAMED_CARD_CAP_FEN = 500_000
UNNAMED_CARD_CAP_FEN = 100_000
UNNAMED_MIN_VALIDITY_YEARS = 3
#: Three calendar years hold at most one 29 February, so 1096 days always cover them.
UNNAMED_MIN_VALIDITY_DAYS = 3 * 365 + 1
COOLING_OFF_DAYS = 7
BONUS_WARNING_PERCENT = 30
CARD_NO_MIN_LENGTH = 12
CARD_NO_MAX_LENGTH = 19
#: Random digits a card number needs so that drawing unique numbers stays cheap (10^8 numbers).
CARD_NO_MIN_RANDOM_DIGITS = 8
REAL_NAME_THRESHOLD_FEN = 1_000_000
BANK_TRANSFER_THRESHOLD_FEN = 5_000_000

#: A printed card is CR80 (ISO/IEC 7810 ID-1), 85.60 × 53.98 mm; its face needs 300 dpi.
CR80_RATIO = 85.60 / 53.98
FACE_MIN_WIDTH, FACE_MIN_HEIGHT = 1011, 638
#: How far (relative) an uploaded face's proportions may stray from CR80's.
FACE_RATIO_TOLERANCE = 0.01
FORMS = ("virtual", "physical")

#: Refusing to replace a lost named card (挂失补办) is void under SPC 法释〔2025〕4号 Art. 9 [9, 14].
REPLACEMENT_REFUSALS = ("不予补办", "不补办", "不予挂失", "不办理挂失", "不挂失", "遗失不补", "丢失不补",
                        "不予补发", "不补发", "不再补卡", "不补卡")
#: Void clauses [9] and Beijing's banned wording [16]; matching is leftmost, so 最终解释权归 stays whole.
FORBIDDEN_CLAUSES = (
    "概不退款", "恕不退款", "余额不退", "不退不换", *REPLACEMENT_REFUSALS,
    "不得转让", "不可转让", "禁止转让", "最终解释权归", "解释权归", "单方调价",
)
_FORBIDDEN_CLAUSE = re.compile("|".join(FORBIDDEN_CLAUSES))
_CLAUSE_SEPARATORS = re.compile(r"[。；;，,！!？?\n]")
_SHORT_WINDOW = re.compile(r"(?<![0-9])([0-9]{1,3}|[一二三四五六七])个?(?:工作)?[日天](?:以)?内")
_CHINESE_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7}
_FEE_WORDS = re.compile(r"手续费|服务费|违约金|扣除|扣费")
_NO_FEE_WORDS = re.compile(r"不收|免|无需|不扣|无手续费|不另")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_HEX_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")

_EXPECTED_TYPES: dict[str, type | tuple[type, ...]] = {
    "name": str, "kind": str, "named": bool, "uses": int, "service_name": str, "discount_percent": int,
    "top_up": dict, "top_up.enabled": bool, "top_up.tiers": list, "top_up.tiers[]": dict,
    "top_up.allow_custom": bool,
    "points": dict, "points.earn_per_yuan": int, "points.points_per_yuan_off": int,
    "validity": dict, "validity.type": str, "validity.start": str, "validity.end": str, "validity.days": int,
    "refund": dict, "refund.allowed": bool, "refund.fee_percent": int,
    "transferable": bool, "stackable_with_coupons": bool,
    "store_scope": (str, list), "store_scope[]": (str, int),
    "regional_discounts": list, "regional_discounts[]": dict, "regional_discounts[].region_code": str,
    "regional_discounts[].discount_percent": int,
    "card_no": dict, "card_no.prefix": str, "card_no.length": int,
    "deduction_order": str, "terms": str, "style": dict, "style.color": str, "style.logo_url": str,
    "form": str,
}
_MONEY_FIELDS = (
    "face_value_fen", "top_up.tiers[].amount_fen", "top_up.tiers[].bonus_fen", "top_up.min_fen",
    "top_up.max_fen", "min_spend_fen",
)
_TYPE_NAMES = {str: "文本", bool: "布尔值（true/false）", int: "整数", dict: "对象", list: "列表"}


@dataclass(frozen=True)
class Finding:
    """One problem: the field path it concerns, a stable code and a Chinese message."""

    field: str
    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class ValidationResult:
    """Errors block submission for review; warnings are shown to the merchant."""

    errors: list[Finding]
    warnings: list[Finding]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, list[dict[str, str]]]:
        return {
            "errors": [finding.to_dict() for finding in self.errors],
            "warnings": [finding.to_dict() for finding in self.warnings],
        }


@dataclass(frozen=True)
class RefundExample:
    """What a holder gets back under SPC Art. 18–21 [12], for display next to the bonus tiers."""

    customer_reason_fen: int
    business_fault_fen: int


def _is_a(value: Any, expected: type | tuple[type, ...]) -> bool:
    """isinstance where ``bool`` is not an ``int`` (True is not one fen) and any mapping is a dict."""
    kinds = expected if isinstance(expected, tuple) else (expected,)
    if isinstance(value, bool):
        return bool in kinds
    return any(isinstance(value, Mapping if kind is dict else kind) for kind in kinds)


def _non_negative_int(value: Any) -> int | None:
    """A valid amount of fen (or count), or None."""
    return value if _is_a(value, int) and value >= 0 else None


def _yuan(fen: int) -> str:
    return f"{yuan(fen)} 元"


def _parse_date(value: Any) -> date | None:
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later; 29 February moves to 1 March (the longer reading)."""
    if day.year + years > MAXYEAR:
        return date.max
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


class _Product:
    """Typed read access to a raw product; a missing or mistyped value reads as None."""

    def __init__(self, raw: Mapping[str, Any], today: date, regional: list[RegionalRule] | None = None) -> None:
        self.raw = raw
        self.today = today
        #: The local rules of the regions its stores lie in (server/products/regional_rules.py).
        self.regional = regional or []

    def get(self, path: str) -> Any:
        value: Any = self.raw
        for key in path.split("."):
            value = value.get(key) if isinstance(value, Mapping) else None
        return value

    def typed(self, path: str, expected: type) -> Any:
        value = self.get(path)
        return value if _is_a(value, expected) else None

    def fen(self, path: str) -> int | None:
        """A valid amount of money at ``path``, or None."""
        return _non_negative_int(self.get(path))

    def present(self, pattern: str) -> list[tuple[str, Any]]:
        """(path, value) at ``pattern`` for keys set (not null); a ``[]`` step yields every list item."""
        found: list[tuple[str, Any]] = [("", self.raw)]
        for step in pattern.split("."):
            key, each = step.removesuffix("[]"), step.endswith("[]")
            deeper: list[tuple[str, Any]] = []
            for path, value in found:
                child = value.get(key) if isinstance(value, Mapping) else None
                child_path = f"{path}.{key}" if path else key
                if each and isinstance(child, list):
                    deeper += [(f"{child_path}[{index}]", item) for index, item in enumerate(child)]
                elif not each and child is not None:
                    deeper.append((child_path, child))
            found = deeper
        return found

    @property
    def kind(self) -> str | None:
        kind = self.get("kind")
        return kind if kind in KINDS else None

    @property
    def prepaid(self) -> bool:
        return self.kind in PREPAID_KINDS

    @property
    def named(self) -> bool:
        """A missing flag reads as named, the stored product's default."""
        return self.get("named") is not False

    @property
    def validity_type(self) -> str:
        """A product that says nothing about validity is permanent."""
        kind = self.get("validity.type")
        return kind if kind in VALIDITY_TYPES else "permanent"

    def tiers(self) -> list[tuple[int, int | None, int]]:
        """(index, amount or None, bonus) of each tier; a missing bonus is no bonus."""
        tiers = self.typed("top_up.tiers", list) or []
        return [
            (index, _non_negative_int(tier.get("amount_fen")), _non_negative_int(tier.get("bonus_fen")) or 0)
            for index, tier in enumerate(tiers)
            if isinstance(tier, Mapping)
        ]

    def largest_top_up(self) -> tuple[int, str | None]:
        """(amount + bonus, field) of the largest single top-up.

        A custom amount is taken to earn the bonus of the best tier it reaches (充满X送Y): the generous
        reading, so the cap holds whatever the top-up service decides."""
        if self.get("top_up.enabled") is not True:
            return 0, None
        tiers = [(index, amount, bonus) for index, amount, bonus in self.tiers() if amount is not None]
        options = [(amount + bonus, f"top_up.tiers[{index}].amount_fen") for index, amount, bonus in tiers]
        custom_max = self.fen("top_up.max_fen")
        if self.get("top_up.allow_custom") is True and custom_max is not None:
            reached = [bonus for _, amount, bonus in tiers if amount <= custom_max]
            options.append((custom_max + max(reached, default=0), "top_up.max_fen"))
        return max(options, default=(0, None), key=lambda option: option[0])

    def reachable_balance(self) -> tuple[int, str]:
        """(value, field) a fresh card can hold: face value plus the largest single top-up."""
        top_up, top_up_field = self.largest_top_up()
        face_value = self.fen("face_value_fen") or 0
        return face_value + top_up, top_up_field or "face_value_fen"


Severity = Literal["error", "warning"]
Check = Callable[[_Product], Iterator[Finding]]
RULES: list[tuple[Severity, Check]] = []


def error_rule(check: Check) -> Check:
    RULES.append(("error", check))
    return check


def warning_rule(check: Check) -> Check:
    RULES.append(("warning", check))
    return check


def validate_product(
    product: Any, *, today: date, region_codes: Iterable[str] = (), industry: str | None = None
) -> ValidationResult:
    """Run every rule; never raises, whatever ``product`` holds.

    ``region_codes`` are those of the stores in the product's scope and ``industry`` the merchant's:
    they select the regional rules that apply (a product checked without them meets national rules only)."""
    if not isinstance(product, Mapping):
        return ValidationResult([Finding("product", "INVALID_TYPE", "卡种配置必须是一个对象")], [])
    view = _Product(product, today, rules_for(region_codes, industry, today))
    errors: list[Finding] = []
    warnings: list[Finding] = []
    for severity, check in RULES:
        (errors if severity == "error" else warnings).extend(check(view))
    return ValidationResult(errors, warnings)


# --- shape -------------------------------------------------------------------------------------------


@error_rule
def fields_have_expected_types(product: _Product) -> Iterator[Finding]:
    """Every later rule trusts types; a mistyped field is reported here, once."""
    for pattern, expected in _EXPECTED_TYPES.items():
        for path, value in product.present(pattern):
            if not _is_a(value, expected):
                kinds = expected if isinstance(expected, tuple) else (expected,)
                wanted = " 或 ".join(_TYPE_NAMES[kind] for kind in kinds)
                yield Finding(path, "INVALID_TYPE", f"{path} 应为{wanted}")


@error_rule
def money_is_whole_fen(product: _Product) -> Iterator[Finding]:
    """Money is an integer number of fen everywhere (docs/api.md, Conventions); no floats, no negative amounts."""
    for pattern in _MONEY_FIELDS:
        for path, value in product.present(pattern):
            if not _is_a(value, int):
                yield Finding(path, "MONEY_NOT_INTEGER_FEN", "金额必须是以分为单位的整数")
            elif value < 0:
                yield Finding(path, "MONEY_NEGATIVE", "金额不能为负数")


@error_rule
def name_is_given(product: _Product) -> Iterator[Finding]:
    """The name identifies the card to the holder and to the reviewer."""
    name = product.get("name")
    if name is None or (isinstance(name, str) and not name.strip()):
        yield Finding("name", "FIELD_REQUIRED", "请填写卡种名称")


@error_rule
def kind_is_known(product: _Product) -> Iterator[Finding]:
    """Every other rule, and redemption itself, depends on the kind."""
    kind = product.get("kind")
    if kind is None:
        yield Finding("kind", "FIELD_REQUIRED", "请选择卡种类型")
    elif isinstance(kind, str) and kind not in KINDS:
        yield Finding("kind", "INVALID_CHOICE", "卡种类型只能是储值卡、次卡、积分卡或折扣卡")


@error_rule
def choices_are_known(product: _Product) -> Iterator[Finding]:
    """Validity type, deduction order and store scope are closed sets the services switch on."""
    if product.typed("validity.type", str) not in (None, *VALIDITY_TYPES):
        yield Finding("validity.type", "INVALID_CHOICE", "有效期类型只能是永久有效、固定日期或激活后若干天")
    if product.typed("deduction_order", str) not in (None, *DEDUCTION_ORDERS):
        yield Finding("deduction_order", "INVALID_CHOICE", "扣款顺序只能是按比例、先扣赠送金额或先扣本金")
    if product.typed("store_scope", str) not in (None, "all"):
        yield Finding("store_scope", "INVALID_CHOICE", "适用门店应为 \"all\"（全部门店）或门店列表")
    if product.typed("form", str) not in (None, *FORMS):
        yield Finding("form", "INVALID_CHOICE", "卡片形态只能是虚拟卡（virtual）或实体卡（physical）")


@error_rule
def physical_face_is_print_sized(product: _Product) -> Iterator[Finding]:
    """A printed card's face must hold CR80 at 300 dpi (1011 × 638 px) in CR80's proportions, or it
    prints blurred or distorted. Without an uploaded face the drawn one is rendered at that size."""
    face = product.get("face_image")
    if product.get("form") != "physical" or not isinstance(face, Mapping):
        return
    width, height = face.get("width"), face.get("height")
    if not (type(width) is int and type(height) is int and width > 0 and height > 0):
        return
    ratio_off = abs(width / height - CR80_RATIO) / CR80_RATIO > FACE_RATIO_TOLERANCE
    if width < FACE_MIN_WIDTH or height < FACE_MIN_HEIGHT or ratio_off:
        yield Finding("face_image", "FACE_SIZE",
                      f"实体卡卡面须至少 {FACE_MIN_WIDTH}×{FACE_MIN_HEIGHT} 像素（CR80 卡 300 dpi），"
                      f"宽高比 85.60:53.98；上传的图片为 {width}×{height} 像素")


@error_rule
def store_scope_lists_stores(product: _Product) -> Iterator[Finding]:
    """A card usable in no store sells nothing."""
    if product.typed("store_scope", list) == []:
        yield Finding("store_scope", "STORE_SCOPE_EMPTY", "请至少选择一家适用门店")


@error_rule
def style_color_is_hex(product: _Product) -> Iterator[Finding]:
    """The card face is drawn with Pillow, which needs a #RRGGBB colour."""
    color = product.typed("style.color", str)
    if color is not None and not _HEX_COLOR.fullmatch(color):
        yield Finding("style.color", "STYLE_COLOR_INVALID", "卡面颜色应为 #RRGGBB 格式，例如 #C8102E")


# --- validity ----------------------------------------------------------------------------------------


@error_rule
def dates_are_iso(product: _Product) -> Iterator[Finding]:
    """Dates are exchanged as YYYY-MM-DD; anything else is ambiguous."""
    for path in ("validity.start", "validity.end"):
        value = product.typed(path, str)
        if value is not None and _parse_date(value) is None:
            yield Finding(path, "DATE_INVALID", "日期格式应为 YYYY-MM-DD，且必须是有效日期")


@error_rule
def fixed_validity_is_in_order(product: _Product) -> Iterator[Finding]:
    """A fixed period needs an end that is after its start and not past (seed: 有效期早于发卡日期)."""
    if product.validity_type != "fixed":
        return
    if product.get("validity.end") is None:
        yield Finding("validity.end", "FIELD_REQUIRED", "固定有效期须填写截止日期")
        return
    start, end = _parse_date(product.get("validity.start")), _parse_date(product.get("validity.end"))
    if start and end and end < start:
        yield Finding("validity.end", "VALIDITY_END_BEFORE_START", "有效期截止日期早于开始日期")
    if end and end < product.today:
        yield Finding("validity.end", "VALIDITY_END_IN_PAST", "有效期截止日期早于今天，卡片发出即过期")


@error_rule
def relative_validity_has_days(product: _Product) -> Iterator[Finding]:
    """N days after activation must be a positive N, or the card expires as it is issued."""
    if product.validity_type != "relative":
        return
    days = product.typed("validity.days", int)
    if product.get("validity.days") is None:
        yield Finding("validity.days", "FIELD_REQUIRED", "激活后有效天数须填写")
    elif days is not None and days <= 0:
        yield Finding("validity.days", "VALIDITY_DAYS_NOT_POSITIVE", "激活后有效天数必须大于 0")


@error_rule
def named_stored_value_never_expires(product: _Product) -> Iterator[Finding]:
    """Named stored-value cards have no expiry (MOFCOM measures) [2]."""
    if product.kind == "stored_value" and product.named and product.validity_type != "permanent":
        yield Finding("validity.type", "NAMED_CARD_HAS_EXPIRY", "记名储值卡不得设置有效期，应为永久有效")


@error_rule
def unnamed_stored_value_lasts_three_years(product: _Product) -> Iterator[Finding]:
    """Unnamed stored-value cards stay valid ≥ 3 years (MOFCOM measures) [2].

    A fixed period counts from today or its later start, the first day a card can still be sold, and
    its end day is inclusive; a relative one needs UNNAMED_MIN_VALIDITY_DAYS."""
    if product.kind != "stored_value" or product.named:
        return
    if product.validity_type == "relative":
        days = product.typed("validity.days", int)
        if days is not None and 0 < days < UNNAMED_MIN_VALIDITY_DAYS:
            yield Finding(
                "validity.days", "UNNAMED_CARD_VALIDITY_TOO_SHORT",
                f"不记名储值卡有效期不得少于 3 年（至少 {UNNAMED_MIN_VALIDITY_DAYS} 天）",
            )
    elif product.validity_type == "fixed":
        end = _parse_date(product.get("validity.end"))
        first_sale = max(_parse_date(product.get("validity.start")) or product.today, product.today)
        last_required_day = _add_years(first_sale, UNNAMED_MIN_VALIDITY_YEARS) - timedelta(days=1)
        if end and product.today <= end < last_required_day:
            message = "不记名储值卡有效期不得少于 3 年"
            yield Finding("validity.end", "UNNAMED_CARD_VALIDITY_TOO_SHORT", message)


# --- refunds and terms -------------------------------------------------------------------------------


@error_rule
def prepaid_allows_refund(product: _Product) -> Iterator[Finding]:
    """Excluding refund of a prepayment is void (SPC Art. 9) [9].

    The terms must say how prepayments are refunded (Decree 778 Art. 22) [8], so saying nothing counts
    as no refund, and so does a 100% fee."""
    if not product.prepaid:
        return
    if product.get("refund.allowed") is not True:
        message = "预付类卡种（储值卡、次卡）必须允许退款"
        yield Finding("refund.allowed", "REFUND_NOT_ALLOWED_ON_PREPAID", message)
    elif product.typed("refund.fee_percent", int) == 100:
        message = "退款手续费为 100% 等于不退款，预付类卡种必须允许退款"
        yield Finding("refund.fee_percent", "REFUND_NOT_ALLOWED_ON_PREPAID", message)


@error_rule
def refund_fee_is_a_percent(product: _Product) -> Iterator[Finding]:
    """A fee is a percent of the remaining principal, so 0–100.

    The product has one fee_percent. It applies only outside the 7-day cooling-off window: the refund
    service never charges it inside (SPC Art. 14) [10], so the number itself can only be wrong by its
    range; wording that charges a fee inside the window is caught by ``no_fee_in_cooling_off``."""
    fee = product.typed("refund.fee_percent", int)
    if fee is not None and not 0 <= fee <= 100:
        yield Finding("refund.fee_percent", "REFUND_FEE_OUT_OF_RANGE", "退款手续费比例应在 0 到 100 之间")


@error_rule
def no_fee_in_cooling_off(product: _Product) -> Iterator[Finding]:
    """Within 7 days of payment the whole principal is refundable without a fee (SPC Art. 14) [10].

    A clause (between punctuation marks) naming a window of ≤ 7 days and a fee, with no word waiving
    it, claims a fee the law forbids. A heuristic: it errs towards letting fair wording through."""
    terms = product.typed("terms", str) or ""
    for clause in _CLAUSE_SEPARATORS.split(terms):
        windows = [_CHINESE_DIGITS.get(days) or int(days) for days in _SHORT_WINDOW.findall(clause)]
        short = any(days <= COOLING_OFF_DAYS for days in windows)
        if short and _FEE_WORDS.search(clause) and not _NO_FEE_WORDS.search(clause):
            yield Finding(
                "terms", "REFUND_FEE_IN_COOLING_OFF",
                f"购卡 7 日内退款须全额退还本金，不得收取手续费：「{clause.strip()}」",
            )


@error_rule
def terms_have_no_void_clauses(product: _Product) -> Iterator[Finding]:
    """Clauses excluding refund or transfer, refusing replacement or claiming the last word are void.

    SPC Art. 9 and Consumer Protection Law Art. 26 [9]; Beijing bans the wording outright [16]. Spaces
    inside a clause do not hide it; each clause found is reported once."""
    terms = re.sub(r"\s+", "", product.typed("terms", str) or "")
    for clause in dict.fromkeys(_FORBIDDEN_CLAUSE.findall(terms)):
        if clause in REPLACEMENT_REFUSALS:
            yield Finding("terms", "TERMS_FORBIDDEN_CLAUSE",
                          f"使用须知含有「{clause}」：拒绝记名卡挂失补办的条款依最高法预付式消费司法解释无效，请删除")
        else:
            yield Finding("terms", "TERMS_FORBIDDEN_CLAUSE", f"使用须知含有无效或禁止的条款「{clause}」，请删除")


@warning_rule
def prepaid_has_terms(product: _Product) -> Iterator[Finding]:
    """A prepaid sale needs written terms: what, price, refunds, liability (Decree 778 Art. 22) [8]."""
    if product.prepaid and not (product.typed("terms", str) or "").strip():
        message = "预付类卡种应填写使用须知，说明服务内容、价格、退款方式和责任"
        yield Finding("terms", "TERMS_MISSING", message)


@warning_rule
def prepaid_is_transferable(product: _Product) -> Iterator[Finding]:
    """Transfer of a prepaid card cannot be unreasonably limited (SPC Art. 11) [11]."""
    if product.prepaid and product.get("transferable") is False:
        message = "预付类卡种限制转赠可能被认定为不合理限制，建议允许转赠"
        yield Finding("transferable", "TRANSFER_FORBIDDEN_ON_PREPAID", message)


# --- stored value and top-ups ------------------------------------------------------------------------


@error_rule
def stored_value_within_card_cap(product: _Product) -> Iterator[Finding]:
    """One card holds ≤ 5,000 yuan if named, ≤ 1,000 yuan if unnamed (MOFCOM measures) [1]."""
    if product.kind != "stored_value":
        return
    cap = NAMED_CARD_CAP_FEN if product.named else UNNAMED_CARD_CAP_FEN
    reachable, path = product.reachable_balance()
    if reachable > cap:
        label = "记名卡" if product.named else "不记名卡"
        yield Finding(
            path, "CARD_VALUE_CAP_EXCEEDED",
            f"{label}单卡余额上限为 {_yuan(cap)}，面值加单次最高充值及赠送可达 {_yuan(reachable)}",
        )


@error_rule
def top_up_tiers_are_positive(product: _Product) -> Iterator[Finding]:
    """A tier of nothing cannot be paid through WeChat Pay."""
    tiers = [(path, tier) for path, tier in product.present("top_up.tiers[]") if isinstance(tier, Mapping)]
    for path, tier in tiers:
        amount = tier.get("amount_fen")
        if amount is None or _non_negative_int(amount) == 0:
            yield Finding(f"{path}.amount_fen", "TOP_UP_TIER_NOT_POSITIVE", "充值档位金额必须大于 0")


@error_rule
def custom_top_up_is_bounded(product: _Product) -> Iterator[Finding]:
    """A custom amount needs a maximum, or the per-card cap [1] cannot hold, and a minimum below it."""
    if product.get("top_up.allow_custom") is True and product.get("top_up.max_fen") is None:
        yield Finding("top_up.max_fen", "FIELD_REQUIRED", "允许自定义充值金额时须设置单次充值上限")
    low, high = product.fen("top_up.min_fen"), product.fen("top_up.max_fen")
    if low is not None and high is not None and low > high:
        yield Finding("top_up.min_fen", "TOP_UP_MIN_ABOVE_MAX", "自定义充值下限高于上限")


@error_rule
def enabled_top_up_offers_amounts(product: _Product) -> Iterator[Finding]:
    """Top-up switched on with no tier and no custom amount leaves the holder nothing to pay."""
    enabled = product.get("top_up.enabled") is True
    if enabled and not product.typed("top_up.tiers", list) and product.get("top_up.allow_custom") is not True:
        yield Finding("top_up.tiers", "TOP_UP_NO_AMOUNTS", "已开启充值，请设置充值档位或允许自定义金额")


@warning_rule
def bonus_is_moderate(product: _Product) -> Iterator[Finding]:
    """A bonus above 30% of its tier is the merchant's choice, but big bonuses breed refund disputes [12]."""
    for index, amount, bonus in product.tiers():
        if amount and bonus * 100 > amount * BONUS_WARNING_PERCENT:
            yield Finding(
                f"top_up.tiers[{index}].bonus_fen", "BONUS_RATIO_HIGH",
                f"赠送金额超过充值金额的 {BONUS_WARNING_PERCENT}%，退款时容易产生纠纷",
            )


@warning_rule
def min_spend_is_reachable(product: _Product) -> Iterator[Finding]:
    """A threshold (满X可用) above the largest bill a full card could pay shuts the card out of use."""
    min_spend = product.fen("min_spend_fen")
    if product.kind != "stored_value" or not min_spend:
        return
    balance, _ = product.reachable_balance()
    discount = product.typed("discount_percent", int)
    largest_bill = balance * 100 // discount if discount is not None and 1 <= discount <= 99 else balance
    if min_spend > largest_bill:
        yield Finding(
            "min_spend_fen", "MIN_SPEND_UNREACHABLE",
            f"使用门槛（{_yuan(min_spend)}）高于卡内最高余额可支付的账单（{_yuan(largest_bill)}）",
        )


# --- count, points, discount -------------------------------------------------------------------------


@error_rule
def count_card_has_uses(product: _Product) -> Iterator[Finding]:
    """A count card sells uses; zero uses sells nothing."""
    uses = product.typed("uses", int)
    if product.kind == "count" and (product.get("uses") is None or (uses is not None and uses <= 0)):
        yield Finding("uses", "COUNT_USES_NOT_POSITIVE", "次卡的可用次数必须大于 0")


@warning_rule
def count_card_names_service(product: _Product) -> Iterator[Finding]:
    """The terms must say what is sold (Decree 778 Art. 22) [8]: a count card names its service."""
    if product.kind == "count" and not (product.typed("service_name", str) or "").strip():
        yield Finding("service_name", "SERVICE_NAME_MISSING", "请填写次卡包含的服务项目，例如「洗剪吹」")


@error_rule
def points_card_earns_points(product: _Product) -> Iterator[Finding]:
    """A points card with no earning rule (none, or zero points a yuan) never gives the holder anything."""
    earn = product.get("points.earn_per_yuan")
    if product.kind == "points" and (earn is None or (_is_a(earn, int) and earn == 0)):
        message = "积分卡须设置每消费 1 元获得的积分（大于 0）"
        yield Finding("points.earn_per_yuan", "POINTS_NO_EARNING_RULE", message)


@error_rule
def points_rates_not_negative(product: _Product) -> Iterator[Finding]:
    """A negative rate would take points away on every purchase or redemption."""
    for path in ("points.earn_per_yuan", "points.points_per_yuan_off"):
        rate = product.typed(path, int)
        if rate is not None and rate < 0:
            yield Finding(path, "POINTS_RATE_NEGATIVE", "积分比例不能为负数")


@error_rule
def discount_card_has_percent(product: _Product) -> Iterator[Finding]:
    """A discount card's only benefit is its percent."""
    if product.kind == "discount" and product.get("discount_percent") is None:
        yield Finding("discount_percent", "FIELD_REQUIRED", "折扣卡须设置折扣（例如 88 表示 8.8 折）")


@error_rule
def discount_percent_in_range(product: _Product) -> Iterator[Finding]:
    """Percent paid: 100 is no discount and 0 is free, so 1–99 (also per region)."""
    for pattern in ("discount_percent", "regional_discounts[].discount_percent"):
        for path, percent in product.present(pattern):
            if _is_a(percent, int) and not 1 <= percent <= 99:
                message = "折扣须在 1 到 99 之间（88 表示 8.8 折）"
                yield Finding(path, "DISCOUNT_PERCENT_OUT_OF_RANGE", message)


# --- card numbers ------------------------------------------------------------------------------------


@error_rule
def card_no_prefix_is_numeric(product: _Product) -> Iterator[Finding]:
    """Card numbers are digits only (prefix + random digits + Luhn check digit)."""
    prefix = product.typed("card_no.prefix", str)
    if prefix and not (prefix.isascii() and prefix.isdigit()):
        yield Finding("card_no.prefix", "CARD_NO_PREFIX_NOT_NUMERIC", "卡号前缀只能由数字组成")


@error_rule
def card_no_length_in_range(product: _Product) -> Iterator[Finding]:
    """12–19 digits fit scanners, receipts and the 18-digit numeric code space."""
    length = product.typed("card_no.length", int)
    if length is not None and not CARD_NO_MIN_LENGTH <= length <= CARD_NO_MAX_LENGTH:
        yield Finding(
            "card_no.length", "CARD_NO_LENGTH_OUT_OF_RANGE",
            f"卡号长度须在 {CARD_NO_MIN_LENGTH} 到 {CARD_NO_MAX_LENGTH} 位之间",
        )


@error_rule
def card_no_leaves_room_for_random_digits(product: _Product) -> Iterator[Finding]:
    """Unique numbers need enough random digits after the prefix, plus the Luhn check digit."""
    prefix, length = product.typed("card_no.prefix", str), product.typed("card_no.length", int)
    if prefix is not None and length is not None and len(prefix) + CARD_NO_MIN_RANDOM_DIGITS + 1 > length:
        yield Finding(
            "card_no.prefix", "CARD_NO_PREFIX_TOO_LONG",
            f"卡号前缀过长：前缀之后至少需要 {CARD_NO_MIN_RANDOM_DIGITS} 位随机数字和 1 位校验位",
        )


# --- face value and names (seed: 「卡片面值」与「使用规则」混淆；名称避免误导) ---------------------------


#: Chinese names of the kinds, as findings name them.
_KIND_LABELS = {"stored_value": "储值卡", "count": "次卡", "points": "积分卡", "discount": "折扣卡"}
#: Words of a name that say which kind the card is.
_KIND_WORDS = (("次卡", "count"), ("储值卡", "stored_value"), ("充值卡", "stored_value"), ("积分卡", "points"),
               ("折扣卡", "discount"))
_PERMANENT_WORDS = ("永久", "终身", "无限期")
_UNLIMITED_WORDS = ("无限", "不限次")
_FREE_WORDS = ("免费",)


@error_rule
def stored_value_has_face_value_or_top_up(product: _Product) -> Iterator[Finding]:
    """A stored-value card is loaded by its face value (固定面值卡, e.g. 100 元) or by top-ups (储值卡,
    e.g. 充300送50); with neither it can never hold anything. The seed's common failure: face value and
    usage rules confused."""
    if product.kind != "stored_value" or product.get("top_up.enabled") is True:
        return
    face_value = product.get("face_value_fen")
    if face_value is None or (_is_a(face_value, int) and face_value == 0):
        yield Finding(
            "face_value_fen", "FACE_VALUE_OR_TOP_UP_REQUIRED",
            "储值卡须设置面值或开启充值（面值与使用规则混淆）：固定面值卡请填写每张卡的面额（如 100 元），"
            "可充值的储值卡请设置充值规则（如充300送50）",
        )


def _name(product: _Product) -> str:
    return re.sub(r"\s+", "", product.typed("name", str) or "")


@warning_rule
def name_matches_kind(product: _Product) -> Iterator[Finding]:
    """A name saying 次卡 on a stored-value card (or 储值卡 on a count card, …) misleads the holder."""
    name, kind = _name(product), product.kind
    if kind is None:
        return
    for word in dict.fromkeys(word for word, word_kind in _KIND_WORDS if word in name and word_kind != kind):
        yield Finding("name", "NAME_KIND_MISMATCH",
                      f"卡名含「{word}」，但卡种类型是{_KIND_LABELS[kind]}，容易误导持卡人")


@warning_rule
def name_promises_only_what_rules_give(product: _Product) -> Iterator[Finding]:
    """永久 / 无限 / 免费 in a name are promises: the validity, the uses and the price must keep them."""
    name = _name(product)
    permanent = next((word for word in _PERMANENT_WORDS if word in name), None)
    if permanent and product.validity_type != "permanent":
        yield Finding("name", "NAME_PROMISES_PERMANENT", f"卡名含「{permanent}」，但有效期不是永久有效")
    unlimited = next((word for word in _UNLIMITED_WORDS if word in name and f"{word}期" not in name), None)
    if unlimited and product.kind == "count":
        uses = product.typed("uses", int)
        told = f"只有 {uses} 次" if uses is not None else "次数有限"
        yield Finding("name", "NAME_PROMISES_UNLIMITED", f"卡名含「{unlimited}」，但次卡{told}")
    elif unlimited and product.kind == "stored_value":
        yield Finding("name", "NAME_PROMISES_UNLIMITED", f"卡名含「{unlimited}」，但储值卡只能消费卡内余额")
    free = next((word for word in _FREE_WORDS if word in name), None)
    if free and product.prepaid:
        yield Finding("name", "NAME_PROMISES_FREE", f"卡名含「{free}」，但{_KIND_LABELS[product.kind]}需预付购买")


# --- regional rules (docs/regulations.md 16–18; the data is server/products/regional_rules.py) --------

_DAYS_WITHIN = re.compile(r"(?<![0-9])([0-9]{1,3})个?(工作)?[日天](?:之)?内")
_REFUND_PAID = re.compile(r"退(?:款|还|回)")
_REFUND_PAYOUT = re.compile(r"到账|退还至|退回至|办理|办结|完成|原路")
_FULL_REFUND = re.compile(r"全额退")
_CANCELLATION = re.compile(r"退卡|退款|退还")
_CLOSURE = re.compile(r"停业|歇业|闭店|关店|迁址|搬迁")
_NOTICE_DAYS = re.compile(r"提前\s*([0-9]{1,3})\s*个?(工作)?[日天]")


def _calendar_days(days: str, working: str) -> int:
    """N days as calendar days; N working days span at least N × 7 ÷ 5 (rounded up)."""
    return -(-int(days) * 7 // 5) if working else int(days)


_SENTENCE_SEPARATORS = re.compile(r"[。；;！!？?\n]")


def _clauses(product: _Product) -> list[str]:
    """The sentences of the terms: a condition and its consequence sit on both sides of a comma."""
    terms = re.sub(r"[ \t\r\f\v\u3000]+", "", product.typed("terms", str) or "")
    return [clause for clause in _SENTENCE_SEPARATORS.split(terms) if clause]


def _prepaid_rules(product: _Product) -> list[RegionalRule]:
    return product.regional if product.prepaid else []


@error_rule
def regional_refund_paid_in_time(product: _Product) -> Iterator[Finding]:
    """Beijing: refunds other than the cooling-off one are paid within 15 days (Art. 15–17) [16].

    A clause that pays a refund out (到账, 退还至, 办理…) in more days than the region allows."""
    for rule in _prepaid_rules(product):
        if rule.refund_within_days is None:
            continue
        for clause in _clauses(product):
            if not (_REFUND_PAID.search(clause) and _REFUND_PAYOUT.search(clause)):
                continue
            days = [_calendar_days(n, working) for n, working in _DAYS_WITHIN.findall(clause)]
            if any(day > rule.refund_within_days for day in days):
                yield Finding(
                    "terms", "REGION_REFUND_TOO_SLOW",
                    f"{rule.region_name}规定退款应在 {rule.refund_within_days} 日内办结（{rule.source}）："
                    f"「{clause}」",
                )


@error_rule
def regional_cooling_off_not_shortened(product: _Product) -> Iterator[Finding]:
    """Beijing: the whole prepayment is refundable within 7 days if nothing was used (Art. 11) [16]; terms
    granting a full refund for a shorter window cut that right."""
    for rule in _prepaid_rules(product):
        if rule.cooling_off_days is None:
            continue
        for clause in _clauses(product):
            days = [_calendar_days(n, working) for n, working in _DAYS_WITHIN.findall(clause)]
            if _FULL_REFUND.search(clause) and days and max(days) < rule.cooling_off_days:
                yield Finding(
                    "terms", "REGION_COOLING_OFF_TOO_SHORT",
                    f"{rule.region_name}规定购卡 {rule.cooling_off_days} 日内未使用的可全额退款（{rule.source}）："
                    f"「{clause}」",
                )


@error_rule
def regional_terms_state_cancellation(product: _Product) -> Iterator[Finding]:
    """Shanghai: the published terms say how to cancel the card (Art. 13) [17]."""
    for rule in _prepaid_rules(product):
        if rule.terms_state_cancellation and not _CANCELLATION.search(product.typed("terms", str) or ""):
            yield Finding("terms", "REGION_TERMS_NO_CANCELLATION",
                          f"{rule.region_name}要求使用须知写明退卡（退款）方式（{rule.source}）")


@error_rule
def regional_closure_notice_long_enough(product: _Product) -> Iterator[Finding]:
    """Shanghai: holders are told 30 days before the business closes or moves (Art. 17) [17]."""
    for rule in _prepaid_rules(product):
        if rule.closure_notice_days is None:
            continue
        for clause in _clauses(product):
            if not _CLOSURE.search(clause):
                continue
            days = [_calendar_days(n, working) for n, working in _NOTICE_DAYS.findall(clause)]
            if days and min(days) < rule.closure_notice_days:
                yield Finding(
                    "terms", "REGION_CLOSURE_NOTICE_TOO_SHORT",
                    f"{rule.region_name}规定停业或迁址须提前 {rule.closure_notice_days} 日告知持卡人"
                    f"（{rule.source}）：「{clause}」",
                )


@error_rule
def regional_caps(product: _Product) -> Iterator[Finding]:
    """Shanghai fitness: stored value ≤ 5,000 yuan; class packages ≤ 20,000 yuan and ≤ 60 sessions;
    a membership ≤ 24 months (沪体规文〔2025〕1号 Art. 8) [18]. A count card is a class package unless it
    is a time pass (``_is_time_pass``). A regional stored-value cap is reported only where the national
    cap [1] does not already refuse the product."""
    for rule in _prepaid_rules(product):
        where = f"{rule.region_name}（{rule.source}）"
        if product.kind == "stored_value" and rule.stored_value_cap_fen is not None:
            reachable, path = product.reachable_balance()
            national = NAMED_CARD_CAP_FEN if product.named else UNNAMED_CARD_CAP_FEN
            if rule.stored_value_cap_fen < reachable <= national:
                yield Finding(path, "REGION_STORED_VALUE_CAP_EXCEEDED",
                              f"{where}储值上限为 {_yuan(rule.stored_value_cap_fen)}，本卡可达 {_yuan(reachable)}")
        if product.kind == "count" and not _is_time_pass(product):
            uses, price = product.typed("uses", int), product.fen("face_value_fen")
            if rule.count_cap_uses is not None and uses is not None and uses > rule.count_cap_uses:
                yield Finding("uses", "REGION_COUNT_USES_CAP_EXCEEDED",
                              f"{where}课程包不得超过 {rule.count_cap_uses} 次")
            if rule.count_cap_fen is not None and price is not None and price > rule.count_cap_fen:
                yield Finding("face_value_fen", "REGION_COUNT_PRICE_CAP_EXCEEDED",
                              f"{where}课程包金额不得超过 {_yuan(rule.count_cap_fen)}")
        days = _validity_days(product)
        if rule.validity_cap_days is not None and days is not None and days > rule.validity_cap_days:
            yield Finding("validity", "REGION_VALIDITY_CAP_EXCEEDED", f"{where}会员卡期限不得超过 24 个月")


def _is_time_pass(product: _Product) -> bool:
    """A count card with at least one use for every day it is valid (健身季卡: 90 entries in 90 days) is a
    time-based membership, not a class package: its term is what is sold."""
    uses, days = product.typed("uses", int), _validity_days(product)
    return uses is not None and days is not None and 0 < days <= uses


def _validity_days(product: _Product) -> int | None:
    """Days a card of the product is valid (a fixed period from today or its later start, end day included)."""
    if product.validity_type == "relative":
        return product.typed("validity.days", int)
    if product.validity_type == "fixed":
        end = _parse_date(product.get("validity.end"))
        start = max(_parse_date(product.get("validity.start")) or product.today, product.today)
        return (end - start).days + 1 if end else None
    return None


# --- helpers shown beside validation -----------------------------------------------------------------


def refund_example(paid_fen: int, bonus_fen: int, used_fen: int) -> RefundExample:
    """The worked refund example of SPC Art. 18–21 [12], shown next to the bonus tiers.

    A card paid ``paid_fen`` with ``bonus_fen`` bonus, of which ``used_fen`` was used. Customer's own
    reason: the used value is priced at the undiscounted price. Business's fault: it is priced at
    paid ÷ (paid + bonus), rounded down in the customer's favour. Neither refund exceeds the prepayment
    nor drops below zero."""
    for name, value in (("paid_fen", paid_fen), ("bonus_fen", bonus_fen), ("used_fen", used_fen)):
        if _non_negative_int(value) is None:
            raise ValueError(f"{name} must be a non-negative integer number of fen")
    total = paid_fen + bonus_fen
    used = min(used_fen, total)
    used_at_paid_price = used * paid_fen // total if total else 0
    return RefundExample(
        customer_reason_fen=max(paid_fen - used, 0),
        business_fault_fen=paid_fen - used_at_paid_price,
    )


@dataclass(frozen=True)
class WorkedRefundExample:
    """``refund_example`` for numbers taken from one product's rules, shown beside its refund settings."""

    paid_fen: int
    bonus_fen: int
    used_fen: int
    fee_percent: int
    refund: RefundExample


#: The example's card has used this share of what was paid (docs/regulations.md: 600 of 1,000).
EXAMPLE_USED_FIFTHS = 3


def product_refund_example(product: Any) -> WorkedRefundExample | None:
    """The worked refund example [12] for a stored-value product: its top-up tier with the largest bonus
    (else its face value), three fifths of the payment used. None where nothing is paid in."""
    if not isinstance(product, Mapping):
        return None
    view = _Product(product, date.min)
    if view.kind != "stored_value":
        return None
    tiers = [(amount, bonus) for _, amount, bonus in view.tiers() if amount]
    if view.get("top_up.enabled") is True and tiers:
        paid, bonus = max(tiers, key=lambda tier: tier[1])
    else:
        paid, bonus = view.fen("face_value_fen") or 0, 0
    if not paid:
        return None
    used = paid * EXAMPLE_USED_FIFTHS // 5
    fee = view.typed("refund.fee_percent", int)
    return WorkedRefundExample(paid, bonus, used, fee if fee is not None and 0 <= fee <= 100 else 0,
                               refund_example(paid, bonus, used))


def batch_warnings(price_fen: int, quantity: int, per_user_limit: int | None) -> list[Finding]:
    """Real-name [3] and bank-transfer [4] warnings (MOFCOM measures) on what one buyer can buy at once.

    That is price × per-user limit (at most the batch quantity), or price × quantity without a limit.
    Malformed numbers are the batch schema's business, so they produce no warning."""
    numbers = (price_fen, quantity, 0 if per_user_limit is None else per_user_limit)
    if any(_non_negative_int(number) is None for number in numbers):
        return []
    cards = quantity if per_user_limit is None else min(per_user_limit, quantity)
    field = "quantity" if per_user_limit is None else "per_user_limit"
    at_once = price_fen * cards
    warnings = []
    if at_once >= REAL_NAME_THRESHOLD_FEN:
        warnings.append(Finding(
            field, "BATCH_REAL_NAME_REQUIRED",
            f"单人一次可购买 {_yuan(at_once)}，达到 1 万元的须登记购卡人实名信息",
        ))
    if at_once >= BANK_TRANSFER_THRESHOLD_FEN:
        warnings.append(Finding(
            field, "BATCH_BANK_TRANSFER_REQUIRED",
            f"单人一次可购买 {_yuan(at_once)}，个人一次购卡达到 5 万元的须通过银行转账并登记",
        ))
    return warnings
