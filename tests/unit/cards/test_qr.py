"""Counter QR codes: they scan back to the payload, at level M, with a quiet zone, in pure black and white."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image, ImageOps

from server.cards.qr import render_qr_png

TOKEN_40 = "kq1-9fQ2xV7mZ0aB3cD4eF5gH6iJ7kL8mN9oP0qR"  # a 40-character dynamic-code payload


def _open(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


@pytest.mark.parametrize(
    "payload",
    [TOKEN_40, "Xb3kP9qR2sT5vW8yZ1aC4d", "620112345678901234", "6201000012341234:K7QX2M9PZR4TWB8N"],
)
def test_png_decodes_back_to_the_payload_at_level_m(payload):
    result = zxingcpp.read_barcode(_open(render_qr_png(payload)))

    assert result is not None
    assert result.format == zxingcpp.BarcodeFormat.QRCode
    assert result.text == payload
    assert result.ec_level == "M"


def test_image_is_pure_black_and_white_and_phone_sized():
    assert len(TOKEN_40) == 40
    image = _open(render_qr_png(TOKEN_40))

    assert image.format == "PNG"
    assert image.mode in ("1", "L")
    assert {value for _count, value in image.convert("L").getcolors()} == {0, 255}
    assert image.width == image.height
    assert 300 <= image.width <= 400


def test_quiet_zone_is_four_white_modules():
    box_size, border = 10, 4
    image = _open(render_qr_png(TOKEN_40, box_size=box_size, border=border)).convert("L")
    quiet = border * box_size

    assert ImageOps.invert(image).getbbox() == (quiet, quiet, image.width - quiet, image.height - quiet)


def test_box_size_scales_the_image():
    small = _open(render_qr_png(TOKEN_40, box_size=5))
    large = _open(render_qr_png(TOKEN_40, box_size=10))

    assert large.width == 2 * small.width
    assert zxingcpp.read_barcode(small).text == TOKEN_40
