"""Card faces: a real PNG, real Chinese glyphs (not tofu), safe colours, and bytes stable enough to cache."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw

from server.cards import face_images as face
from server.cards.face_images import (
    CARD_NO_BOX,
    DEFAULT_COLOR,
    FONT_ENV_VAR,
    KIND_BOX,
    LOGO_BOX,
    MERCHANT_BOX,
    PRODUCT_BOX,
    SIZE,
    CJKFontNotFound,
    cjk_font,
    face_cache_key,
    find_cjk_font,
    render_card_face,
)

CARD = {
    "merchant_name": "星巴克咖啡（国贸店）",
    "product_name": "金卡储值 充300送50",
    "card_no_masked": "6201 **** **** 1234",
    "color": "#0F7B5F",
    "kind": "stored_value",
}


def _open(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def _ink_pixels(png: bytes, background_png: bytes, box: tuple[int, int, int, int]) -> int:
    """Pixels inside ``box`` that differ from the same card drawn without the element."""
    diff = ImageChops.difference(
        _open(png).convert("RGB").crop(box), _open(background_png).convert("RGB").crop(box)
    )
    return diff.convert("L").point(lambda value: 255 if value > 40 else 0).histogram()[255]


@pytest.fixture(autouse=True)
def _no_font_override(monkeypatch):
    monkeypatch.delenv(FONT_ENV_VAR, raising=False)


def test_face_is_a_png_of_the_card_size_with_rounded_corners():
    image = _open(render_card_face(**CARD))

    assert image.format == "PNG"
    assert image.size == SIZE
    assert image.mode == "RGBA"
    assert image.getpixel((0, 0))[3] == 0
    assert image.getpixel((SIZE[0] - 1, SIZE[1] - 1))[3] == 0
    assert image.getpixel((SIZE[0] // 2, SIZE[1] // 2))[3] == 255


@pytest.mark.parametrize(
    ("field", "box"),
    [("merchant_name", MERCHANT_BOX), ("product_name", PRODUCT_BOX), ("card_no_masked", CARD_NO_BOX)],
)
def test_each_text_is_drawn_inside_its_box(field, box):
    blank = render_card_face(**{**CARD, field: ""})

    assert _ink_pixels(render_card_face(**CARD), blank, box) > 300


def test_kind_label_is_drawn_in_chinese():
    stored_value = render_card_face(**CARD)
    points = render_card_face(**{**CARD, "kind": "points"})

    assert _ink_pixels(stored_value, points, KIND_BOX) > 100


def test_cjk_glyphs_are_real_not_tofu():
    font = cjk_font(48)

    def pixels(char: str) -> bytes:
        canvas = Image.new("L", (96, 96))
        ImageDraw.Draw(canvas).text((0, 0), char, font=font, fill=255)
        return canvas.tobytes()

    notdef = pixels("\uffff")  # a noncharacter: every font draws its missing-glyph box for it
    glyphs = {char: pixels(char) for char in "储值卡次积分折扣星巴克"}

    assert all(any(bitmap) for bitmap in glyphs.values())
    assert len(set(glyphs.values())) == len(glyphs)
    assert notdef not in glyphs.values()


def test_different_chinese_names_draw_different_pixels_on_the_card():
    first = render_card_face(**{**CARD, "product_name": "储"})
    second = render_card_face(**{**CARD, "product_name": "值"})

    assert _ink_pixels(first, second, PRODUCT_BOX) > 100


@pytest.mark.parametrize("bad", ["", "red", "#12345", "#GGGGGG", "#1234567", "0F7B5F", None])
def test_invalid_colour_falls_back_to_the_default(bad):
    fallback = {**CARD, "color": DEFAULT_COLOR}

    assert render_card_face(**{**CARD, "color": bad}) == render_card_face(**fallback)
    assert face_cache_key(**{**CARD, "color": bad}) == face_cache_key(**fallback)


def test_colour_case_does_not_matter_but_the_colour_does():
    assert render_card_face(**{**CARD, "color": "#0f7b5f"}) == render_card_face(**CARD)
    assert face_cache_key(**{**CARD, "color": "#0f7b5f"}) == face_cache_key(**CARD)
    assert render_card_face(**{**CARD, "color": "#7B0F5F"}) != render_card_face(**CARD)


@pytest.mark.parametrize(
    ("color", "dark_text"), [("#FFFFFF", True), ("#F5E6A8", True), ("#000000", False), ("#0F7B5F", False)]
)
def test_text_colour_contrasts_with_the_card(color, dark_text):
    card = _open(render_card_face(**{**CARD, "color": color})).convert("L").crop(PRODUCT_BOX)
    darkest, lightest = card.getextrema()

    assert (darkest < 60) if dark_text else (lightest > 200)


def test_same_inputs_give_the_same_bytes_and_key():
    assert render_card_face(**CARD) == render_card_face(**CARD)
    assert face_cache_key(**CARD) == face_cache_key(**CARD)


@pytest.mark.parametrize(
    "change",
    [
        {"merchant_name": "喜茶"},
        {"product_name": "银卡"},
        {"card_no_masked": "6201 **** **** 9999"},
        {"color": "#112233"},
        {"kind": "count"},
        {"logo_png": b"logo"},
    ],
)
def test_cache_key_changes_with_every_input(change):
    assert face_cache_key(**{**CARD, **change}) != face_cache_key(**CARD)


def test_logo_is_drawn_and_a_broken_logo_is_refused():
    logo = Image.new("RGBA", (200, 120), (0, 0, 0, 0))
    ImageDraw.Draw(logo).ellipse((10, 10, 190, 110), fill=(200, 30, 30, 255))
    png = io.BytesIO()
    logo.save(png, format="PNG")

    with_logo = render_card_face(**CARD, logo_png=png.getvalue())

    assert _ink_pixels(with_logo, render_card_face(**CARD), LOGO_BOX) > 1000
    with pytest.raises(ValueError, match="logo_png"):
        render_card_face(**CARD, logo_png=b"not a png")


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind"):
        render_card_face(**{**CARD, "kind": "gift"})


def test_font_override_must_be_a_font_with_chinese_glyphs(monkeypatch, tmp_path):
    monkeypatch.setenv(FONT_ENV_VAR, str(tmp_path / "missing.otf"))
    with pytest.raises(CJKFontNotFound, match=FONT_ENV_VAR):
        find_cjk_font()

    not_a_font = tmp_path / "font.otf"
    not_a_font.write_bytes(b"plain text")
    monkeypatch.setenv(FONT_ENV_VAR, str(not_a_font))
    with pytest.raises(CJKFontNotFound, match="not a readable font"):
        render_card_face(**CARD)


def test_a_latin_only_font_is_refused_rather_than_drawing_tofu(monkeypatch):
    latin = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if not latin.is_file():
        pytest.skip("DejaVu Sans is not installed")
    monkeypatch.setenv(FONT_ENV_VAR, str(latin))

    with pytest.raises(CJKFontNotFound, match="no Chinese glyphs"):
        render_card_face(**CARD)


def test_no_installed_font_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pylopdf_fonts_zh_cn", None)  # makes the import fail
    monkeypatch.setattr(face, "_DEBIAN_FONTS", (tmp_path / "missing.ttc",))

    with pytest.raises(CJKFontNotFound, match="no CJK font installed"):
        render_card_face(**CARD)
