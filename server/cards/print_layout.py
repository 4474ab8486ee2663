"""The print files of a physical batch: a CSV for a print shop and a PDF of ready-to-print cards.

No Flask and no database: both take an iterator of (card_no, secret) and yield the file in pieces, so
the HTTP answer streams and memory stays flat however many cards the batch holds.

The PDF has one page per card: a CR80 card (ISO/IEC 7810 ID-1, 85.60 × 53.98 mm, the TrimBox) with
3 mm bleed on every side (the MediaBox and BleedBox). The face is scaled to cover the bleed; on it sit
the card number, a Code 128 barcode of the number (what a POS scanner reads) and the secret in a
scratch-off panel of its own. reportlab draws every page; pages are drawn in runs of
PAGES_PER_RUN, and each run's objects are renumbered and written straight to the output with pypdf's
object model (``_PdfStream``), so no more than one run is ever held in memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from itertools import islice

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, NumberObject
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

CSV_HEADER = ("card_no", "secret", "barcode")
#: Lines per streamed piece of the CSV.
CSV_CHUNK = 5_000

#: CR80 card and its bleed, in points.
CARD_WIDTH, CARD_HEIGHT = 85.60 * mm, 53.98 * mm
BLEED = 3 * mm
PAGE_WIDTH, PAGE_HEIGHT = CARD_WIDTH + 2 * BLEED, CARD_HEIGHT + 2 * BLEED
#: Pages drawn by one reportlab document before they are written out.
PAGES_PER_RUN = 250
#: Built into every PDF reader (Adobe-GB1), so Chinese labels need no embedded font file.
_FONT = "STSong-Light"
#: Where things go on the card, in points from the card's (trim) bottom-left corner.
_PANEL = (4 * mm, 3.5 * mm, CARD_WIDTH - 8 * mm, 15 * mm)  # white strip: barcode and number
_SCRATCH = (CARD_WIDTH - 31 * mm, 20 * mm, 27 * mm, 7.5 * mm)  # silver scratch-off panel
_BAR_WIDTH = 0.26 * mm  # one module: a 16-digit number is about 35 mm of bars
_BAR_HEIGHT = 8 * mm


def print_csv(cards: Iterable[tuple[str, str]]) -> Iterator[str]:
    """``card_no,secret,barcode`` (the barcode encodes the card number) in pieces of 5,000 lines."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    rows = iter(cards)
    while True:
        chunk = list(islice(rows, CSV_CHUNK))
        if not chunk:
            break
        writer.writerows((card_no, secret, card_no) for card_no, secret in chunk)
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    if out.tell():
        yield out.getvalue()


def group_digits(card_no: str) -> str:
    """``6201 2345 6789 0123``: how a number is printed, so a person can read it out."""
    return " ".join(card_no[i : i + 4] for i in range(0, len(card_no), 4))


def print_pdf(cards: Iterable[tuple[str, str]], face_png: bytes, *, title: str = "") -> Iterator[bytes]:
    """The PDF, one page per card, in pieces (one run of pages each)."""
    _register_font()
    out = _PdfStream()
    yield out.header()
    rows = iter(cards)
    while True:
        run = list(islice(rows, PAGES_PER_RUN))
        if not run:
            break
        yield out.add_pages(_draw_run(run, face_png, title))
    yield out.finish(title)


def _register_font() -> None:
    if _FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(_FONT))


def _draw_run(run: list[tuple[str, str]], face_png: bytes, title: str) -> bytes:
    """One reportlab document of these cards; the face is one image drawn through one form."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), pageCompression=1, invariant=1)
    pdf.setTitle(title)
    face = ImageReader(io.BytesIO(face_png))
    pdf.beginForm("face")
    _draw_face(pdf, face)
    pdf.endForm()
    for card_no, secret in run:
        pdf.setTrimBox((BLEED, BLEED, BLEED + CARD_WIDTH, BLEED + CARD_HEIGHT))
        pdf.setBleedBox((0, 0, PAGE_WIDTH, PAGE_HEIGHT))
        pdf.doForm("face")
        _draw_card(pdf, card_no, secret)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _draw_face(pdf: canvas.Canvas, face: ImageReader) -> None:
    """The face scaled to cover the whole page (card plus bleed), centred, the overflow clipped."""
    width, height = face.getSize()
    scale = max(PAGE_WIDTH / width, PAGE_HEIGHT / height)
    drawn_w, drawn_h = width * scale, height * scale
    path = pdf.beginPath()
    path.rect(0, 0, PAGE_WIDTH, PAGE_HEIGHT)
    pdf.clipPath(path, stroke=0, fill=0)
    pdf.drawImage(face, (PAGE_WIDTH - drawn_w) / 2, (PAGE_HEIGHT - drawn_h) / 2, drawn_w, drawn_h)


def _draw_card(pdf: canvas.Canvas, card_no: str, secret: str) -> None:
    pdf.saveState()
    pdf.translate(BLEED, BLEED)
    x, y, w, h = _PANEL
    pdf.setFillColorRGB(1, 1, 1)
    pdf.roundRect(x, y, w, h, 1.5 * mm, stroke=0, fill=1)
    pdf.setFillColorRGB(0, 0, 0)
    barcode = Code128(card_no, barHeight=_BAR_HEIGHT, barWidth=_BAR_WIDTH, quiet=1, lquiet=3 * mm, rquiet=3 * mm)
    barcode.drawOn(pdf, x + 1 * mm, y + h - _BAR_HEIGHT - 1.5 * mm)
    pdf.setFillColorRGB(0.1, 0.1, 0.1)
    pdf.setFont(_FONT, 7.5)
    pdf.drawString(x + 4 * mm, y + 1.6 * mm, f"卡号 {group_digits(card_no)}")

    sx, sy, sw, sh = _SCRATCH
    pdf.setFillColorRGB(0.78, 0.78, 0.80)
    pdf.setStrokeColorRGB(0.55, 0.55, 0.58)
    pdf.setLineWidth(0.4)
    pdf.roundRect(sx, sy, sw, sh, 1 * mm, stroke=1, fill=1)
    pdf.setFillColorRGB(0.1, 0.1, 0.1)
    pdf.setFont(_FONT, 5)
    pdf.drawString(sx + 1.2 * mm, sy + sh - 2.2 * mm, "卡密（刮开涂层）")
    pdf.setFont("Courier-Bold", 8.5)
    pdf.drawString(sx + 1.2 * mm, sy + 1.4 * mm, secret)
    pdf.restoreState()


class _PdfStream:
    """Writes one PDF from many small reportlab documents, object by object, as they come.

    Object 1 is the catalog and 2 the page tree, both written last, when every page is known; each
    run's objects get fresh numbers, their references rewritten, and go out at once. Only the byte
    offsets (for the cross-reference table) and page numbers are kept — a few bytes per page."""

    def __init__(self) -> None:
        self._offsets: dict[int, int] = {}
        self._position = 0
        self._next = 3
        self._kids: list[int] = []

    def _emit(self, chunk: bytes) -> bytes:
        self._position += len(chunk)
        return chunk

    def header(self) -> bytes:
        return self._emit(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")

    def _object(self, number: int, obj) -> bytes:
        body = io.BytesIO()
        obj.write_to_stream(body)
        self._offsets[number] = self._position
        return self._emit(b"%d 0 obj\n" % number + body.getvalue() + b"\nendobj\n")

    def add_pages(self, document: bytes) -> bytes:
        reader = PdfReader(io.BytesIO(document))
        numbers: dict[int, int] = {}

        def number_of(old: int) -> int:
            if old not in numbers:
                numbers[old] = self._next
                self._next += 1
            return numbers[old]

        def rewrite(value):
            if isinstance(value, IndirectObject):
                return IndirectObject(number_of(value.idnum), 0, None)
            if isinstance(value, DictionaryObject):
                for key in list(value):
                    value[key] = rewrite(value.raw_get(key))
            elif isinstance(value, ArrayObject):
                for index, item in enumerate(value):
                    value[index] = rewrite(item)
            return value

        pending: list[int] = []
        for page in reader.pages:
            old = page.indirect_reference.idnum
            self._kids.append(number_of(old))
            pending.append(old)
        written: set[int] = set()
        out = []
        while pending:
            old = pending.pop()
            if old in written:
                continue
            written.add(old)
            obj = reader.get_object(old)
            is_page = isinstance(obj, DictionaryObject) and obj.get("/Type") == "/Page"
            if is_page:
                del obj["/Parent"]  # the run's own page tree is left behind
            before = set(numbers)
            obj = rewrite(obj)
            if is_page:
                obj[NameObject("/Parent")] = IndirectObject(2, 0, None)
            pending.extend(n for n in numbers if n not in before and n not in written)
            out.append(self._object(numbers[old], obj))
        return b"".join(out)

    def finish(self, title: str) -> bytes:
        pages = DictionaryObject({
            NameObject("/Type"): NameObject("/Pages"),
            NameObject("/Count"): NumberObject(len(self._kids)),
            NameObject("/Kids"): ArrayObject(IndirectObject(n, 0, None) for n in self._kids),
        })
        catalog = DictionaryObject({NameObject("/Type"): NameObject("/Catalog"),
                                    NameObject("/Pages"): IndirectObject(2, 0, None)})
        tail = [self._object(2, pages), self._object(1, catalog)]
        xref_at = self._position
        lines = [b"xref\n0 %d\n" % self._next, b"0000000000 65535 f \n"]
        lines += [b"%010d 00000 n \n" % self._offsets[n] for n in range(1, self._next)]
        lines.append(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (self._next, xref_at))
        return b"".join(tail) + self._emit(b"".join(lines))
