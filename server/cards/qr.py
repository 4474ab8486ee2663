"""The dynamic QR code a consumer shows at the counter, as a PNG that phone screens and scanners read well."""

from __future__ import annotations

import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M


def render_qr_png(payload: str, *, box_size: int = 10, border: int = 4) -> bytes:
    """Encode ``payload`` as a 1-bit black-on-white QR PNG.

    Level M survives screen glare and scratched scanner windows while keeping modules large; the
    default border is the 4-module quiet zone the QR standard asks for, which cheap scanners need.
    """
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=border)
    code.add_data(payload)
    code.make(fit=True)
    image = code.make_image(fill_color="black", back_color="white").get_image()
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
