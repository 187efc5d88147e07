"""Study linkage: a DICOM upload's study, series and SOP instance UIDs, SOP class, accession
number, modality, laterality, body part, view and pixel spacing on each of its knees' predictions.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = [
    ("study_instance_uid", sa.String(64)),
    ("series_instance_uid", sa.String(64)),
    ("sop_instance_uid", sa.String(64)),
    ("sop_class_uid", sa.String(64)),
    ("accession_number", sa.String(16)),
    ("modality", sa.String(16)),
    ("laterality", sa.String(16)),
    ("body_part_examined", sa.String(16)),
    ("view_position", sa.String(16)),
    ("pixel_spacing", sa.JSON()),
    ("pixel_spacing_attribute", sa.String(20)),
]


def upgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        for name, type_ in COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
        batch.create_index("ix_predictions_study_instance_uid", ["study_instance_uid"])


def downgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.drop_index("ix_predictions_study_instance_uid")
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
