"""The demo's ground truth: which receipts each generated draft line truly pays for, and the
scenario it was generated for. Its own MetaData: the production schema never holds it."""

from __future__ import annotations

import sqlalchemy as sa

from tools import schema as s

metadata = sa.MetaData()

demo_match_truth = sa.Table(
    "DemoMatchTruth",
    metadata,
    sa.Column("Id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("DraftId", sa.Integer, sa.ForeignKey(s.purchase_invoice_drafts.c.Id), nullable=False),
    sa.Column("LineIndex", sa.Integer, nullable=False),
    sa.Column("InvTransactionId", sa.Integer, nullable=True),
    sa.Column("Scenario", sa.String(40), nullable=False),
    sa.Index("ix_demo_truth_draft", "DraftId", "LineIndex"),
)
