"""Predictions name the model that graded them: its id, name and what it was trained on.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.add_column(sa.Column("model_id", sa.String(100), nullable=True))
        batch.add_column(sa.Column("model_name", sa.String(100), nullable=True))
        batch.add_column(sa.Column("model_trained_on", sa.String(255), nullable=True))
        batch.add_column(sa.Column("model_data_kind", sa.String(20), nullable=True))
    # Until now a model's id was its kind.
    op.execute("UPDATE predictions SET model_id = model_kind")
    with op.batch_alter_table("predictions") as batch:
        batch.alter_column("model_id", existing_type=sa.String(100), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        for column in ("model_data_kind", "model_trained_on", "model_name", "model_id"):
            batch.drop_column(column)
