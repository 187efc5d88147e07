"""Stored file paths are relative to the uploads folder (``settings.uploads_dir``), not the data
folder, so the image store owns where its files live.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("image_path", "thumbnail_path", "heatmap_path")
PREFIX = "uploads/"


def upgrade() -> None:
    for column in COLUMNS:
        op.execute(
            f"UPDATE predictions SET {column} = SUBSTR({column}, {len(PREFIX) + 1})"
            f" WHERE {column} LIKE '{PREFIX}%'"
        )


def downgrade() -> None:
    for column in COLUMNS:
        op.execute(
            f"UPDATE predictions SET {column} = '{PREFIX}' || {column}"
            f" WHERE {column} IS NOT NULL"
        )
