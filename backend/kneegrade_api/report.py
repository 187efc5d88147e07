"""A one-page A4 PDF of one prediction, to print or attach to a patient record."""

import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from kneegrade_ml.serving import GRADE_NAMES, grade_name

TITLE = "KneeGrade: knee osteoarthritis grading report"
NOTICE = "Not for diagnostic use without clinician review."
GRADE_COLOURS = tuple(
    HexColor(c) for c in ("#22c55e", "#a3e635", "#facc15", "#fb923c", "#f87171")
)
"""The product's KL colours, as --kg-grade-N in frontend/css/app.css."""

INK = HexColor("#0a0a1a")
MUTED = HexColor("#4b5563")
RULE = HexColor("#d1d5db")
TRACK = HexColor("#e5e7eb")
AMBER = tuple(HexColor(c) for c in ("#fef3c7", "#f59e0b", "#78350f"))
RED = tuple(HexColor(c) for c in ("#fee2e2", "#dc2626", "#7f1d1d"))
"""Callout colours: fill, edge, ink."""
FONT, BOLD = "Helvetica", "Helvetica-Bold"

PAGE_W, PAGE_H = A4
MARGIN = 42.0
WIDTH = PAGE_W - 2 * MARGIN
IMAGE_BOX = 246.0
IMAGE_GAP = 18.0
MAX_IMAGE_PIXELS = 1200
"""Longest side embedded: about 300 dpi at the printed size, so big uploads stay small PDFs."""
JPEG_QUALITY = 90
"""Pictures go in as JPEG: a seventh of the size of lossless pixels, no visible loss on paper."""


@dataclass(frozen=True)
class ReportContent:
    """Everything the report shows, gathered by the caller so rendering needs no database."""

    prediction_id: int
    grade: int
    probabilities: Sequence[float]
    """The five probabilities, indexed by grade."""
    confidence: float
    review_recommended: bool
    review_reason: str | None
    model_name: str
    model_version: str
    original_filename: str
    graded_at: datetime
    """Timezone-aware; printed in UTC."""
    image_png: bytes
    """The X-ray as a PNG (8-bit grayscale or RGB), any size."""
    heatmap_png: bytes | None
    """The heatmap overlay as a PNG, or None when the model gives none."""
    heatmap_caption: str = "Model attention (heatmap)"
    model_trained_on: str | None = None
    """What the model learned from; None when it was not recorded."""
    model_warning: str | None = None
    """Printed in red above the result, e.g. for a synthetic demo model."""
    knee: str | None = None
    """Which knee this is, e.g. "Right knee (bilateral view layout)"; None when unknown."""
    other_knees: Sequence[str] = ()
    """The other knees graded from the same image, one line each."""

    def __post_init__(self) -> None:
        grade_name(self.grade)  # raises on a grade outside 0-4
        if len(self.probabilities) != len(GRADE_NAMES):
            raise ValueError(f"need {len(GRADE_NAMES)} probabilities, one per grade")
        if self.graded_at.tzinfo is None:
            raise ValueError("graded_at must be timezone-aware")


def render_report(content: ReportContent) -> bytes:
    """The report as PDF bytes: one A4 page, built-in Helvetica only, so no font files are needed."""
    buffer = io.BytesIO()
    pdf = Canvas(buffer, pagesize=A4, pageCompression=1)
    pdf.setTitle(f"KneeGrade report: scan #{content.prediction_id}")
    pdf.setAuthor("KneeGrade")
    pdf.setCreator("KneeGrade")
    pdf.setSubject(
        f"Knee osteoarthritis grading: KL {content.grade} {grade_name(content.grade)}"
    )
    y = PAGE_H - MARGIN
    y = _header(pdf, content, y)
    if content.model_warning:
        y = _callout(pdf, y - 10, "Not a validated grade", content.model_warning, RED)
    y = _images(pdf, content, y - 16)
    y = _result(pdf, content, y - 20)
    y = _bars(pdf, content, y - 18)
    y = _review(pdf, content, y - 16)
    _details(pdf, content, y - 18)
    _notice(pdf)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _pdf_text(text: str) -> str:
    """What Helvetica (WinAnsi) can show: accents folded to base letters, the rest as "?"."""
    shown = []
    for ch in text:
        if unicodedata.category(ch)[0] == "C":
            continue
        try:
            ch.encode("cp1252")
            shown.append(ch)
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", ch).encode("cp1252", "ignore")
            shown.append(base.decode("cp1252") or "?")
    return "".join(shown)


def _fits(text: str, font: str, size: float, width: float) -> bool:
    return stringWidth(text, font, size) <= width


def _wrap(text: str, font: str, size: float, width: float, max_lines: int) -> list[str]:
    """Lines of at most ``width``, breaking long words anywhere and ending in "…" when cut short."""
    lines: list[str] = []
    line = ""
    for word in _pdf_text(text).split(" "):
        joined = f"{line} {word}" if line else word
        if _fits(joined, font, size, width):
            line = joined
            continue
        if line:
            lines.append(line)
        line = word
        while not _fits(line, font, size, width):
            cut = 1
            while _fits(line[: cut + 1], font, size, width):
                cut += 1
            lines.append(line[:cut])
            line = line[cut:]
    lines.append(line)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and not _fits(last + "…", font, size, width):
            last = last[:-1]
        lines = [*lines[: max_lines - 1], last + "…"]
    return lines


def _header(pdf: Canvas, content: ReportContent, top: float) -> float:
    pdf.setFillColor(INK)
    pdf.setFont(BOLD, 16)
    pdf.drawString(MARGIN, top - 16, TITLE)
    pdf.setFont(FONT, 10)
    pdf.setFillColor(MUTED)
    pdf.drawRightString(MARGIN + WIDTH, top - 15, f"Scan #{content.prediction_id}")
    pdf.setStrokeColor(RULE)
    pdf.setLineWidth(0.75)
    pdf.line(MARGIN, top - 26, MARGIN + WIDTH, top - 26)
    return top - 26


def _images(pdf: Canvas, content: ReportContent, top: float) -> float:
    """The X-ray and the heatmap side by side in equal boxes, or a placeholder for the heatmap."""
    left = MARGIN + (WIDTH - 2 * IMAGE_BOX - IMAGE_GAP) / 2
    right = left + IMAGE_BOX + IMAGE_GAP
    bottom = top - IMAGE_BOX
    _image_box(pdf, content.image_png, left, bottom, "X-ray")
    if content.heatmap_png is None:
        pdf.setStrokeColor(RULE)
        pdf.setDash(4, 3)
        pdf.rect(right, bottom, IMAGE_BOX, IMAGE_BOX)
        pdf.setDash()
        pdf.setFont(FONT, 10)
        pdf.setFillColor(MUTED)
        pdf.drawCentredString(
            right + IMAGE_BOX / 2, bottom + IMAGE_BOX / 2, "No heatmap for this scan"
        )
    else:
        caption = content.heatmap_caption
        _image_box(pdf, content.heatmap_png, right, bottom, caption)
    return bottom - 16


def _image_box(pdf: Canvas, png: bytes, x: float, y: float, caption: str) -> None:
    """One picture scaled to fit a dark square, aspect ratio kept, captioned below."""
    with Image.open(io.BytesIO(png)) as opened:
        image = opened.convert("L" if opened.mode in ("1", "L", "LA") else "RGB")
    image.thumbnail((MAX_IMAGE_PIXELS, MAX_IMAGE_PIXELS), Image.Resampling.LANCZOS)
    jpeg = io.BytesIO()
    image.save(jpeg, format="JPEG", quality=JPEG_QUALITY)
    scale = IMAGE_BOX / max(image.width, image.height)
    w, h = image.width * scale, image.height * scale
    pdf.setFillColor(INK)
    pdf.rect(x, y, IMAGE_BOX, IMAGE_BOX, stroke=0, fill=1)
    pdf.drawImage(
        ImageReader(jpeg), x + (IMAGE_BOX - w) / 2, y + (IMAGE_BOX - h) / 2, w, h
    )
    pdf.setFont(FONT, 9)
    pdf.setFillColor(MUTED)
    text = _wrap(caption, FONT, 9, IMAGE_BOX, 1)[0]
    pdf.drawCentredString(x + IMAGE_BOX / 2, y - 12, text)


def _result(pdf: Canvas, content: ReportContent, top: float) -> float:
    """The grade as a badge in its colour, then the confidence, as the app shows them."""
    label = f"KL {content.grade} · {grade_name(content.grade)}"
    size, pad, height = 20.0, 12.0, 34.0
    width = stringWidth(label, BOLD, size) + 2 * pad
    bottom = top - height
    pdf.setFillColor(GRADE_COLOURS[content.grade])
    pdf.roundRect(MARGIN, bottom, width, height, height / 2, stroke=0, fill=1)
    pdf.setFillColor(INK)
    pdf.setFont(BOLD, size)
    pdf.drawString(MARGIN + pad, bottom + 11, label)
    x = MARGIN + width + 24
    pdf.setFont(FONT, 9)
    pdf.setFillColor(MUTED)
    pdf.drawString(x, bottom + 22, "Confidence")
    pdf.setFont(BOLD, 16)
    pdf.setFillColor(INK)
    pdf.drawString(x, bottom + 4, _percent(content.confidence))
    if content.knee:
        x += 96
        pdf.setFont(FONT, 9)
        pdf.setFillColor(MUTED)
        pdf.drawString(x, bottom + 22, "Knee")
        pdf.setFont(BOLD, 16)
        pdf.setFillColor(INK)
        pdf.drawString(x, bottom + 4, _pdf_text(content.knee.split(" (")[0]))
    return bottom


def _bars(pdf: Canvas, content: ReportContent, top: float) -> float:
    """Five labelled horizontal bars in the grade colours, the predicted grade in bold."""
    label_w, value_w, row, bar = 92.0, 52.0, 17.0, 10.0
    pdf.setFont(BOLD, 11)
    pdf.setFillColor(INK)
    pdf.drawString(MARGIN, top - 11, "Probability per KL grade")
    y = top - 18
    track_x = MARGIN + label_w
    track_w = WIDTH - label_w - value_w
    for grade, (name, p) in enumerate(
        zip(GRADE_NAMES, content.probabilities, strict=True)
    ):
        y -= row
        font = BOLD if grade == content.grade else FONT
        pdf.setFont(font, 10)
        pdf.setFillColor(INK)
        pdf.drawString(MARGIN, y + 1, f"{grade} · {name}")
        pdf.drawRightString(MARGIN + WIDTH, y + 1, _percent(p))
        pdf.setFillColor(TRACK)
        pdf.rect(track_x, y, track_w, bar, stroke=0, fill=1)
        pdf.setFillColor(GRADE_COLOURS[grade])
        pdf.rect(track_x, y, track_w * min(max(p, 0.0), 1.0), bar, stroke=0, fill=1)
    return y


def _review(pdf: Canvas, content: ReportContent, top: float) -> float:
    """An amber box with the reason when review is recommended, else one plain line."""
    if not content.review_recommended:
        pdf.setFont(FONT, 10)
        pdf.setFillColor(MUTED)
        pdf.drawString(MARGIN, top - 10, "No review flag was raised for this scan.")
        return top - 10
    return _callout(pdf, top, "Review recommended", content.review_reason or "", AMBER)


def _callout(
    pdf: Canvas, top: float, title: str, text: str, colours: tuple[HexColor, ...]
) -> float:
    """A rounded box in ``colours`` (fill, edge, ink): a bold title, then up to 4 lines."""
    fill, edge, ink = colours
    pad, leading = 10.0, 13.0
    lines = _wrap(text, FONT, 10, WIDTH - 2 * pad, 4) if text else []
    height = 2 * pad + 12 + leading * len(lines)
    bottom = top - height
    pdf.setFillColor(fill)
    pdf.setStrokeColor(edge)
    pdf.setLineWidth(1.2)
    pdf.roundRect(MARGIN, bottom, WIDTH, height, 4, stroke=1, fill=1)
    pdf.setFillColor(ink)
    pdf.setFont(BOLD, 11)
    y = top - pad - 10
    pdf.drawString(MARGIN + pad, y, title)
    pdf.setFont(FONT, 10)
    for line in lines:
        y -= leading
        pdf.drawString(MARGIN + pad, y, line)
    return bottom


def _details(pdf: Canvas, content: ReportContent, top: float) -> None:
    """Model, time, file and scan id: what ties the page to the record it came from."""
    graded = content.graded_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    others = "; ".join(content.other_knees) or "none"
    rows = (
        ("Knee", content.knee or "side not known", 1),
        ("Other knees", others, 2),
        ("Model", f"{content.model_name}, version {content.model_version}", 2),
        ("Trained on", content.model_trained_on or "not recorded", 2),
        ("Graded", graded, 1),
        ("File", content.original_filename, 3),
        ("Scan id", f"#{content.prediction_id}", 1),
    )
    label_w, leading = 92.0, 13.0
    pdf.setStrokeColor(RULE)
    pdf.setLineWidth(0.75)
    pdf.line(MARGIN, top, MARGIN + WIDTH, top)
    y = top - 4
    for label, value, max_lines in rows:
        y -= leading
        pdf.setFont(FONT, 10)
        pdf.setFillColor(MUTED)
        pdf.drawString(MARGIN, y, label)
        pdf.setFillColor(INK)
        lines = _wrap(value, FONT, 10, WIDTH - label_w, max_lines)
        for i, line in enumerate(lines):
            pdf.drawString(MARGIN + label_w, y - i * leading, line)
        y -= leading * (len(lines) - 1)


def _notice(pdf: Canvas) -> None:
    """The disclaimer, boxed at the foot of the page where it cannot be missed."""
    height = 28.0
    pdf.setFillColor(HexColor("#f3f4f6"))
    pdf.setStrokeColor(INK)
    pdf.setLineWidth(1)
    pdf.rect(MARGIN, MARGIN, WIDTH, height, stroke=1, fill=1)
    pdf.setFillColor(INK)
    pdf.setFont(BOLD, 11)
    pdf.drawCentredString(PAGE_W / 2, MARGIN + 10, NOTICE)


@dataclass(frozen=True)
class KneeMark:
    """A knee's box drawn on the X-ray: where, its label, its grade (the colour), and whether
    it is the knee the report is about (drawn thicker)."""

    box: Sequence[float]
    label: str
    grade: int
    current: bool


def mark_knees(image: Image.Image, marks: Sequence[KneeMark]) -> Image.Image:
    """The X-ray in colour with every knee's box and label drawn on it."""
    marked = image.convert("RGB")
    draw = ImageDraw.Draw(marked)
    unit = max(2, round(max(marked.size) / 300))
    font = ImageFont.load_default(size=max(12, unit * 7))
    for mark in marks:
        x, y, w, h = mark.box
        colour = GRADE_COLOURS[mark.grade].hexval().replace("0x", "#")
        draw.rectangle(
            (x, y, x + w, y + h),
            outline=colour,
            width=unit * (2 if mark.current else 1),
        )
        draw.text((x + unit * 2, y + unit * 2), mark.label, fill=colour, font=font)
    return marked


def _percent(fraction: float) -> str:
    """0.8734 -> "87.3 %", as the web app writes it."""
    return f"{fraction * 100:.1f} %"
