"""HTML form posts → the arguments the domain services take.

Forms are checked with the API's own marshmallow schemas, so a field the API refuses is refused
here with the same Chinese message and the same field path. The product wizard names every input by
its product field path (``top_up.tiers[1].amount_fen``), so smart-validation findings land beside
the input they concern; money is typed in yuan and converted to integer fen.

A form that moves value or changes a status carries a one-time idempotency key, rendered with the
page (``idempotency_field()`` of _macros.html), and its post runs ``@submitted_once``: submitted twice
(a double click, the browser's resubmit) it answers the first answer again — the same redirect —
without a second effect, exactly as the API's ``@idempotent`` does for an Idempotency-Key.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from werkzeug.datastructures import MultiDict

from server.errors import ValidationError
from server.idempotency import idempotent
from server.products.schemas import ProductFieldsSchema
from server.schemas import flatten_errors

_YUAN = re.compile(r"-?[0-9]+(?:\.[0-9]{1,2})?")
_INTEGER = re.compile(r"-?[0-9]+")


#: The hidden input that carries a form's one-time idempotency key.
IDEMPOTENCY_FIELD = "idempotency_key"

#: A form post that moves value or changes a status: once per key (the page's hidden input, or the
#: Idempotency-Key header a page's script sends), a repeat answered with the first answer.
submitted_once = idempotent(form_field=IDEMPOTENCY_FIELD)


def new_idempotency_key() -> str:
    """A fresh one-time key for a form being rendered (template global)."""
    return str(uuid.uuid4())


#: Beside a money input whose text is no amount of yuan.
YUAN_MESSAGE = "请输入金额（元），最多两位小数"


def load_form(schema: ma.Schema, data: Mapping[str, Any], *, integers: tuple[str, ...] = (),
              yuan: tuple[str, ...] = ()) -> dict[str, Any]:
    """The schema's fields of ``data`` (by their request names), loaded; a refusal is a ValidationError
    naming each field.

    Inputs named in ``integers`` and ``yuan`` arrive as text: whole numbers, and amounts typed in
    yuan, become the integers (fen) the API's schemas take; an empty one counts as not given."""
    values = {key: data[key] for key in (field.data_key or name for name, field in schema.fields.items())
              if key in data}
    not_money = {}
    for key in (*integers, *yuan):
        text = str(values.pop(key, "")).strip()
        number = fen_or_text(text) if key in yuan else int_or_text(text)
        if key in yuan and isinstance(number, str):
            not_money[key] = YUAN_MESSAGE
        elif number is not None:
            values[key] = number  # text that is no whole number: the schema says so
    try:
        loaded = schema.load(values)
    except ma.ValidationError as error:
        raise ValidationError({**flatten_errors(error.messages), **not_money}) from None
    if not_money:
        raise ValidationError(not_money)
    return loaded


def given(data: Mapping[str, str]) -> dict[str, str]:
    """The inputs of a form or query not left empty: the schema's defaults apply to the others."""
    return {key: value for key, value in data.items() if value.strip()}


def split_list(text: str) -> list[str]:
    """Several values typed into one input, separated by commas, 、 or spaces."""
    return [value for value in re.split(r"[\s,，、]+", text) if value]


def fen_or_text(text: str, *, empty: int | None = None) -> int | str | None:
    """Yuan as typed ("12.3") → fen (1230), by string arithmetic.

    Text that is no amount comes back as it is, so smart validation reports it on its field and the
    form shows it again unchanged."""
    text = text.strip()
    if not text:
        return empty
    if not _YUAN.fullmatch(text):
        return text
    whole, _, cents = text.removeprefix("-").partition(".")
    fen = int(whole) * 100 + int(cents.ljust(2, "0"))
    return -fen if text.startswith("-") else fen


def int_or_text(text: str, *, empty: int | None = None) -> int | str | None:
    """A whole number as typed; anything else comes back as it is (see ``fen_or_text``)."""
    text = text.strip()
    if not text:
        return empty
    return int(text) if _INTEGER.fullmatch(text) else text


def _rows(form: MultiDict, prefix: str) -> list[dict[str, str]]:
    """Inputs named ``prefix[i].column``, as one dict per row in index order."""
    pattern = re.compile(re.escape(prefix) + r"\[([0-9]+)\]\.(\w+)")
    rows: dict[int, dict[str, str]] = {}
    for key, value in form.items():
        match = pattern.fullmatch(key)
        if match:
            rows.setdefault(int(match[1]), {})[match[2]] = value
    return [rows[index] for index in sorted(rows)]


def product_from_form(form: MultiDict) -> dict[str, Any]:
    """Every product field of docs/api.md from the wizard's inputs (unchecked boxes are false)."""

    def checked(name: str) -> bool:
        return form.get(name) == "1"

    def text(name: str) -> str:
        return form.get(name, "")

    return {
        "name": text("name").strip(),
        "kind": text("kind"),
        "form": text("form") or "virtual",
        "named": checked("named"),
        "face_value_fen": fen_or_text(text("face_value_fen"), empty=0),
        "top_up": {
            "enabled": checked("top_up.enabled"),
            "tiers": [
                {"amount_fen": fen_or_text(row.get("amount_fen", "")),
                 "bonus_fen": fen_or_text(row.get("bonus_fen", ""), empty=0)}
                for row in _rows(form, "top_up.tiers")
            ],
            "allow_custom": checked("top_up.allow_custom"),
            "min_fen": fen_or_text(text("top_up.min_fen")),
            "max_fen": fen_or_text(text("top_up.max_fen")),
        },
        "uses": int_or_text(text("uses"), empty=0),
        "service_name": text("service_name").strip() or None,
        "discount_percent": int_or_text(text("discount_percent")),
        "points": {
            "earn_per_yuan": int_or_text(text("points.earn_per_yuan")),
            "points_per_yuan_off": int_or_text(text("points.points_per_yuan_off")),
        },
        "min_spend_fen": fen_or_text(text("min_spend_fen"), empty=0),
        "validity": {
            "type": text("validity.type"),
            "start": text("validity.start") or None,
            "end": text("validity.end") or None,
            "days": int_or_text(text("validity.days")),
        },
        "refund": {
            "allowed": checked("refund.allowed"),
            "fee_percent": int_or_text(text("refund.fee_percent"), empty=0),
        },
        "transferable": checked("transferable"),
        "stackable_with_coupons": checked("stackable_with_coupons"),
        "store_scope": (
            "all" if text("store_scope") == "all" else [int_or_text(v) for v in form.getlist("store_scope_ids")]
        ),
        "regional_discounts": [
            {"region_code": row.get("region_code", "").strip(),
             "discount_percent": int_or_text(row.get("discount_percent", ""))}
            for row in _rows(form, "regional_discounts")
        ],
        "card_no": {"prefix": text("card_no.prefix").strip(), "length": int_or_text(text("card_no.length"))},
        "deduction_order": text("deduction_order"),
        "terms": text("terms"),
        "style": {"color": text("style.color"), "logo_url": text("style.logo_url").strip() or None},
    }


def load_product_form(form: MultiDict) -> dict[str, Any]:
    """The wizard's product, checked to be storable exactly as the API checks a PATCH body."""
    return load_form(ProductFieldsSchema(), product_from_form(form))
