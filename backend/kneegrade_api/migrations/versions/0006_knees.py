"""One prediction per knee: the knees of one upload share an upload id, each with side and box.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.add_column(sa.Column("upload_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("knee_side", sa.String(10), nullable=True))
        batch.add_column(sa.Column("knee_side_source", sa.String(10), nullable=True))
        batch.add_column(sa.Column("knee_box", sa.JSON(), nullable=True))
        batch.create_index("ix_predictions_upload_id", ["upload_id"])


def downgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.drop_index("ix_predictions_upload_id")
        batch.drop_column("knee_box")
        batch.drop_column("knee_side_source")
        batch.drop_column("knee_side")
        batch.drop_column("upload_id")
