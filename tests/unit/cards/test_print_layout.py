"""Print files without a database: the CSV in pieces, and a PDF stitched from runs of reportlab pages."""

from __future__ import annotations

import csv
import io

import pytest
from pypdf import PdfReader

from server.cards import print_layout
from server.cards.face_images import render_print_face
from server.cards.print_layout import PAGES_PER_RUN, group_digits, print_csv, print_pdf


def _cards(count: int) -> list[tuple[str, str]]:
    return [(f"6201{i:012d}", f"{i * 7:012d}") for i in range(count)]


def test_the_csv_streams_in_pieces_of_5000_lines():
    pieces = list(print_csv(iter(_cards(12_001))))
    assert len(pieces) == 3
    rows = list(csv.reader(io.StringIO("".join(pieces))))
    assert rows[0] == ["card_no", "secret", "barcode"] and len(rows) == 12_002
    assert rows[12_001] == ["6201000000012000", "000000084000", "6201000000012000"]


def test_an_empty_batch_is_a_header_only_csv():
    assert "".join(print_csv([])) == "card_no,secret,barcode\r\n"


def test_numbers_print_in_groups_of_four():
    assert group_digits("6201234567890123") == "6201 2345 6789 0123"
    assert group_digits("620123456789012") == "6201 2345 6789 012"


@pytest.fixture(scope="module")
def face() -> bytes:
    return render_print_face(merchant_name="巷口咖啡", product_name="实体储值卡", color="#6B4226", kind="stored_value")


def test_runs_of_pages_stitch_into_one_valid_pdf_in_card_order(face):
    cards = _cards(2 * PAGES_PER_RUN + 3)
    pieces = list(print_pdf(iter(cards), face, title="batch 1"))
    assert len(pieces) == 3 + 2  # header, three runs, the page tree with the cross-reference table
    reader = PdfReader(io.BytesIO(b"".join(pieces)), strict=True)
    assert len(reader.pages) == len(cards)
    for index in (0, PAGES_PER_RUN - 1, PAGES_PER_RUN, len(cards) - 1):
        text = reader.pages[index].extract_text()
        assert group_digits(cards[index][0]) in text and cards[index][1] in text


def test_each_run_embeds_the_face_once(face):
    data = b"".join(print_pdf(iter(_cards(PAGES_PER_RUN)), face))
    assert data.count(b"/Subtype /Image") == 1
    assert len(data) < len(face) * 3 + PAGES_PER_RUN * 2_000


def test_the_face_covers_the_bleed_whatever_its_proportions(face):
    class Recorder:
        def __init__(self):
            self.drawn = None

        def beginPath(self):
            return print_layout.canvas.Canvas(io.BytesIO()).beginPath()

        def clipPath(self, *args, **kwargs):
            pass

        def drawImage(self, image, x, y, width, height):
            self.drawn = (x, y, width, height)

    from PIL import Image
    from reportlab.lib.utils import ImageReader

    def _png(width: int, height: int) -> bytes:
        out = io.BytesIO()
        Image.new("RGB", (width, height), (200, 16, 46)).save(out, format="PNG")
        return out.getvalue()

    for size in ((1011, 638), (2000, 2000), (3000, 500)):
        recorder = Recorder()
        print_layout._draw_face(recorder, ImageReader(io.BytesIO(_png(*size))))
        x, y, width, height = recorder.drawn
        assert x <= 0 and y <= 0
        assert x + width >= print_layout.PAGE_WIDTH - 1e-6 and y + height >= print_layout.PAGE_HEIGHT - 1e-6
