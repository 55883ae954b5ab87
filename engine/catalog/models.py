"""SQLAlchemy ORM models of the catalog at the current schema version, on SQLite and PostgreSQL.

The tables are created and changed only by the numbered migrations in
``migrations.py``; these models describe the result and are what queries use.
A test checks that the migrated database and these models agree, on both databases.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Float, ForeignKey, Index, Integer, LargeBinary, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Ids and byte sizes are 64-bit on PostgreSQL; SQLite's INTEGER already is (and AUTOINCREMENT
# needs that exact spelling).
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class Folder(Base):
    __tablename__ = "folders"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    path: Mapped[str] = mapped_column(Text, unique=True)
    added_at: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(Text, default="ok")


class File(Base):
    __tablename__ = "files"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'indexed', 'skipped', 'failed')", name="ck_files_status"),
        Index("ix_files_folder_status", "folder_id", "status"),
        Index("ix_files_status", "status"),
        Index("ix_files_content_hash", "content_hash"),
        Index("ix_files_claimed_by", "claimed_by"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    folder_id: Mapped[int] = mapped_column(BigId, ForeignKey("folders.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(Text, unique=True)
    size: Mapped[int] = mapped_column(BigId)
    mtime: Mapped[float] = mapped_column(Float)
    content_hash: Mapped[str | None] = mapped_column(Text)
    duration: Mapped[float | None] = mapped_column(Float)
    fps: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    rotation: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(Text, default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    indexed_at: Mapped[float | None] = mapped_column(Float)
    model_fingerprint: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(Text)      # the indexer working on it (claim_pending)
    claimed_at: Mapped[float | None] = mapped_column(Float)   # when it claimed or last renewed
    recorded_at: Mapped[float | None] = mapped_column(Float)  # when the video was recorded, if its container says


class Segment(Base):
    __tablename__ = "segments"
    # Never reused (SQLite AUTOINCREMENT, a PostgreSQL sequence), so an ANN label always means one segment.
    __table_args__ = (
        Index("ix_segments_file", "file_id"),
        Index("ix_segments_fingerprint", "fingerprint"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    file_id: Mapped[int] = mapped_column(BigId, ForeignKey("files.id", ondelete="CASCADE"))
    start_seconds: Mapped[float] = mapped_column(Float)
    end_seconds: Mapped[float] = mapped_column(Float)
    thumbnail: Mapped[str | None] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(Text)
    frame_count: Mapped[int] = mapped_column(Integer)


class Embedding(Base):
    """Everything stage 1 and stage 2 need of a segment, so the ANN can be rebuilt from here."""
    __tablename__ = "embeddings"

    segment_id: Mapped[int] = mapped_column(BigId, ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)         # float32 [D]
    clip_tokens: Mapped[bytes] = mapped_column(LargeBinary)    # float16 [K, D]
    frame_tokens: Mapped[bytes] = mapped_column(LargeBinary)   # float16 [T, D]
    frame_mask: Mapped[bytes] = mapped_column(LargeBinary)     # uint8 [T]


class Change(Base):
    """The log the vector index replays. Filled by triggers on segments (and on moved or re-dated files),
    so no write path can forget it."""
    __tablename__ = "changes"
    __table_args__ = (
        CheckConstraint("op IN ('add', 'del')", name="ck_changes_op"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(BigId, primary_key=True)
    segment_id: Mapped[int] = mapped_column(BigId)
    op: Mapped[str] = mapped_column(Text)


class Meta(Base):
    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[str] = mapped_column(Text)
