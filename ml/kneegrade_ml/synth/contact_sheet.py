"""A labelled contact sheet: a few images per grade, so people can look at a data set."""

from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from kneegrade_ml.grades import GRADES, grade_name

TILE = 160
LABEL_WIDTH = 120
BACKGROUND = 16
TEXT = 235


def write_contact_sheet(
    root: Path,
    rows: Sequence[dict[str, object]],
    out: Path,
    per_grade: int = 6,
    split: str = "train",
) -> None:
    """Save a grid with one row per grade: the first ``per_grade`` images of ``split``.

    Each tile is captioned with its narrowest joint space width, the feature that drives the grade.
    """
    font = ImageFont.load_default(size=14)
    small = ImageFont.load_default(size=11)
    sheet = Image.new(
        "L", (LABEL_WIDTH + per_grade * TILE, len(GRADES) * TILE), BACKGROUND
    )
    draw = ImageDraw.Draw(sheet)
    for grade in GRADES:
        top = grade * TILE
        draw.text((10, top + TILE // 2 - 18), f"KL {grade}", fill=TEXT, font=font)
        draw.text((10, top + TILE // 2), grade_name(grade), fill=TEXT, font=font)
        chosen = [r for r in rows if r["split"] == split and r["grade"] == grade]
        for col, row in enumerate(chosen[:per_grade]):
            tile = Image.open(root / str(row["path"])).resize((TILE - 4, TILE - 4))
            left = LABEL_WIDTH + col * TILE
            sheet.paste(tile, (left + 2, top + 2))
            jsw = min(float(row["jsw_medial"]), float(row["jsw_lateral"]))
            caption = f"JSW {jsw:.0f} px"
            draw.rectangle(
                draw.textbbox((left + 6, top + 6), caption, font=small), fill=0
            )
            draw.text((left + 6, top + 6), caption, fill=TEXT, font=small)
    sheet.save(out)
