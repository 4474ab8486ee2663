"""Card faces: the picture of a member card that the mini-program shows, drawn with Pillow.

No Flask and no database here. A face depends only on its arguments, the CJK font file, the Pillow
version and FACE_VERSION, so callers can store it under face_cache_key() and never draw it twice.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from functools import lru_cache
from pathlib import Path

import PIL
from PIL import Image, ImageChops, ImageDraw, ImageFont, ImageOps

#: Bump whenever the drawing changes, so faces cached under the old keys are redrawn.
FACE_VERSION = "1"

#: 2x a 320x200 card, sharp on high-density phone screens.
SIZE = (640, 400)
CORNER_RADIUS = 32

#: Used when a product's colour is missing or not ``#RRGGBB``: a bad colour must not break a card.
DEFAULT_COLOR = "#3B5BDB"

#: Points at a font file to use instead of the installed ones.
FONT_ENV_VAR = "KABAO_CJK_FONT"

KIND_LABELS = {"stored_value": "储值卡", "count": "次卡", "points": "积分卡", "discount": "折扣卡"}

# Where each element goes, as (left, top, right, bottom); tests look for ink inside these boxes.
LOGO_BOX = (40, 36, 112, 108)
MERCHANT_BOX = (40, 36, 476, 108)
KIND_BOX = (492, 50, 600, 94)
PRODUCT_BOX = (40, 150, 600, 222)
CARD_NO_BOX = (40, 300, 600, 356)

_MERCHANT_PT, _KIND_PT, _PRODUCT_PT, _CARD_NO_PT = 30, 24, 44, 32
_LIGHT_INK, _DARK_INK = (255, 255, 255), (26, 26, 26)
_COLOR_RE = re.compile(r"#[0-9A-Fa-f]{6}")

# Tried in order after $KABAO_CJK_FONT and the pip package; fonts-noto-cjk, then fonts-wqy-microhei.
_DEBIAN_FONTS = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
)


class CJKFontNotFound(RuntimeError):
    """No usable Chinese font: drawing anyway would show empty boxes (tofu) instead of text."""


def find_cjk_font() -> Path:
    """Return the font file faces are drawn with: $KABAO_CJK_FONT, the pip font package, or Debian's."""
    override = os.environ.get(FONT_ENV_VAR)
    if override:
        if not Path(override).is_file():
            raise CJKFontNotFound(f"{FONT_ENV_VAR}={override!r} is not a file")
        return Path(override)
    for candidate in _installed_fonts():
        if candidate.is_file():
            return candidate
    raise CJKFontNotFound(
        "no CJK font installed: pip install pylopdf-fonts-zh-cn, apt-get install fonts-noto-cjk, "
        f"or set {FONT_ENV_VAR} to a font file"
    )


def _installed_fonts() -> list[Path]:
    try:
        import pylopdf_fonts_zh_cn
    except ImportError:
        return list(_DEBIAN_FONTS)
    return [pylopdf_fonts_zh_cn.sans_path(), *_DEBIAN_FONTS]


def cjk_font(size: int) -> ImageFont.FreeTypeFont:
    """The CJK font at ``size`` pixels, loaded once per file and size."""
    return _load_font(str(find_cjk_font()), size)


@lru_cache(maxsize=32)
def _load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    # BASIC layout: Chinese needs no shaping, and output must not depend on whether libraqm is present.
    try:
        font = ImageFont.truetype(path, size, index=_face_index(path), layout_engine=ImageFont.Layout.BASIC)
    except OSError as exc:
        raise CJKFontNotFound(f"{path} is not a readable font file") from exc
    # U+FFFF is a noncharacter, so it always draws the .notdef glyph; a real CJK glyph must differ.
    if _glyph_pixels(font, "卡") == _glyph_pixels(font, "\uffff"):
        raise CJKFontNotFound(f"{path} has no Chinese glyphs")
    return font


@lru_cache(maxsize=8)
def _face_index(path: str) -> int:
    """Pick the Simplified Chinese face of a font collection, so characters get mainland glyph forms."""
    if not path.lower().endswith((".ttc", ".otc")):
        return 0
    index = 0
    while True:
        try:
            family, _style = ImageFont.truetype(path, 12, index=index).getname()
        except OSError:  # past the last face
            return 0
        if family and family.endswith(" SC"):
            return index
        index += 1


def _glyph_pixels(font: ImageFont.FreeTypeFont, char: str) -> bytes:
    canvas = Image.new("L", (2 * int(font.size), 2 * int(font.size)))
    ImageDraw.Draw(canvas).text((0, 0), char, font=font, fill=255)
    return canvas.tobytes()


def render_card_face(
    *,
    merchant_name: str,
    product_name: str,
    card_no_masked: str,
    color: str,
    kind: str,
    logo_png: bytes | None = None,
) -> bytes:
    """Draw a card face as a PNG; the same arguments always give the same bytes."""
    card = _draw_face(merchant_name, product_name, card_no_masked, color, kind, logo_png, scale=1)
    card.putalpha(ImageChops.multiply(card.getchannel("A"), _rounded_mask(SIZE, CORNER_RADIUS)))
    out = io.BytesIO()
    card.save(out, format="PNG")
    return out.getvalue()


#: A printed card (CR80, 85.60 × 53.98 mm) at 300 dpi.
PRINT_SIZE = (1011, 638)


def render_print_face(*, merchant_name: str, product_name: str, color: str, kind: str,
                      logo_png: bytes | None = None) -> bytes:
    """The drawn face at print resolution (CR80 at 300 dpi), square-cornered and opaque: the card's
    die-cut makes the corners, and the print file scales the face over the bleed. The card number is
    left off: the print file sets each card's own."""
    scale = PRINT_SIZE[0] / SIZE[0]
    face = _draw_face(merchant_name, product_name, "", color, kind, logo_png, scale=scale)
    face = ImageOps.fit(face.convert("RGB"), PRINT_SIZE, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    face.save(out, format="PNG")
    return out.getvalue()


def _scaled(box: tuple[int, ...], scale: float) -> tuple[int, ...]:
    return tuple(round(v * scale) for v in box)


def _draw_face(merchant_name: str, product_name: str, card_no_masked: str, color: str, kind: str,
               logo_png: bytes | None, *, scale: float) -> Image.Image:
    """The face without rounded corners, ``scale`` times the screen size."""
    label = _kind_label(kind)
    start, end = _gradient_ends(_parse_color(color))
    ink = _ink_for(start, end)
    size = _scaled(SIZE, scale)

    card = _gradient(start, end, size)
    card.alpha_composite(_overlay(ink, scale, size))
    draw = ImageDraw.Draw(card)

    logo_box, merchant_box = _scaled(LOGO_BOX, scale), _scaled(MERCHANT_BOX, scale)
    merchant_left = merchant_box[0]
    if logo_png is not None:
        card.alpha_composite(_logo_tile(logo_png, logo_box), logo_box[:2])
        merchant_left = logo_box[2] + round(16 * scale)
    _draw_line(draw, merchant_name, (merchant_left, *merchant_box[1:]), cjk_font(round(_MERCHANT_PT * scale)), ink)
    _draw_line(draw, product_name, _scaled(PRODUCT_BOX, scale), cjk_font(round(_PRODUCT_PT * scale)), ink)
    if card_no_masked:
        _draw_line(draw, card_no_masked, _scaled(CARD_NO_BOX, scale), cjk_font(round(_CARD_NO_PT * scale)), ink)
    kind_box = _scaled(KIND_BOX, scale)
    kind_center = ((kind_box[0] + kind_box[2]) / 2, (kind_box[1] + kind_box[3]) / 2)
    draw.text(kind_center, label, font=cjk_font(round(_KIND_PT * scale)), fill=ink, anchor="mm")
    return card


def face_cache_key(
    *,
    merchant_name: str,
    product_name: str,
    card_no_masked: str,
    color: str,
    kind: str,
    logo_png: bytes | None = None,
) -> str:
    """Name a face by everything that shapes its pixels, so a cached PNG is never stale."""
    font = find_cjk_font()
    fields = {
        "version": FACE_VERSION,
        "merchant_name": merchant_name,
        "product_name": product_name,
        "card_no_masked": card_no_masked,
        "color": "#{:02X}{:02X}{:02X}".format(*_parse_color(color)),
        "kind": kind,
        "logo_sha256": hashlib.sha256(logo_png).hexdigest() if logo_png is not None else None,
        "font": [font.name, font.stat().st_size],
        "pillow": PIL.__version__,
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def _kind_label(kind: str) -> str:
    try:
        return KIND_LABELS[kind]
    except KeyError:
        raise ValueError(f"unknown card kind {kind!r}") from None


def _parse_color(color: object) -> tuple[int, int, int]:
    if not isinstance(color, str) or not _COLOR_RE.fullmatch(color.strip()):
        color = DEFAULT_COLOR
    value = int(color.strip()[1:], 16)
    return value >> 16, (value >> 8) & 0xFF, value & 0xFF


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))


def _gradient_ends(base: tuple[int, int, int]) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """A lighter top-left and darker bottom-right of the product colour, so flat colours get depth."""
    return _mix(base, (255, 255, 255), 0.18), _mix(base, (0, 0, 0), 0.22)


def _luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG 2 relative luminance."""
    linear = [c / 255 / 12.92 if c <= 10 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _ink_for(*backgrounds: tuple[int, int, int]) -> tuple[int, int, int]:
    """White or near-black, whichever stays more readable across the whole gradient."""
    return max((_LIGHT_INK, _DARK_INK), key=lambda ink: min(_contrast(ink, bg) for bg in backgrounds))


def _gradient(start: tuple[int, int, int], end: tuple[int, int, int], size: tuple[int, ...] = SIZE) -> Image.Image:
    ramp = Image.linear_gradient("L")  # black at the top, white at the bottom
    diagonal = Image.blend(ramp.resize(size), ramp.rotate(90).resize(size), 0.5)
    return Image.composite(Image.new("RGBA", size, end), Image.new("RGBA", size, start), diagonal)


def _overlay(ink: tuple[int, int, int], scale: float = 1, size: tuple[int, ...] = SIZE) -> Image.Image:
    """Translucent shapes in the ink colour: two soft circles and the kind label's pill."""
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    draw.ellipse(_scaled((400, -180, 800, 220), scale), fill=(*ink, 20))
    draw.ellipse(_scaled((480, 200, 760, 480), scale), fill=(*ink, 14))
    kind_box = _scaled(KIND_BOX, scale)
    draw.rounded_rectangle(kind_box, radius=(kind_box[3] - kind_box[1]) // 2, fill=(*ink, 40))
    return layer


def _draw_line(
    draw: ImageDraw.ImageDraw,
    text: str,
    box: tuple[int, int, int, int],
    font: ImageFont.FreeTypeFont,
    fill: tuple[int, int, int],
) -> None:
    """One left-aligned line, vertically centred in ``box``, cut with an ellipsis if too wide."""
    left, top, right, bottom = box
    draw.text(
        (left, (top + bottom) / 2), _ellipsize(text, font, right - left), font=font, fill=fill, anchor="lm"
    )


def _ellipsize(text: str, font: ImageFont.FreeTypeFont, width: int) -> str:
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _logo_tile(logo_png: bytes, box: tuple[int, ...] = LOGO_BOX) -> Image.Image:
    """The logo fitted on a white rounded tile, so transparent or dark logos stay visible on any colour."""
    size = (box[2] - box[0], box[3] - box[1])
    try:
        with Image.open(io.BytesIO(logo_png)) as source:
            logo = ImageOps.contain(
                source.convert("RGBA"), (size[0] - 12, size[1] - 12), Image.Resampling.LANCZOS
            )
    except (OSError, Image.DecompressionBombError) as exc:
        raise ValueError("logo_png is not a readable image") from exc
    tile = Image.new("RGBA", size, (255, 255, 255, 255))
    tile.alpha_composite(logo, ((size[0] - logo.width) // 2, (size[1] - logo.height) // 2))
    tile.putalpha(_rounded_mask(size, 12))
    return tile


def _rounded_mask(size: tuple[int, int], radius: int) -> Image.Image:
    """An anti-aliased rounded-rectangle mask: drawn at 4x, then box-filtered down."""
    big = Image.new("L", (size[0] * 4, size[1] * 4), 0)
    ImageDraw.Draw(big).rounded_rectangle((0, 0, big.width - 1, big.height - 1), radius=radius * 4, fill=255)
    return big.reduce(4)
