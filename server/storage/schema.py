"""The database tables. The log is written with SQLAlchemy Core (hot path); the
other tables are plain SQLModel models.

Migrations are ordered steps recorded in ``schema_version`` (see database.py);
add a step, never edit a released one.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, LargeBinary, String, Text
from sqlmodel import Field, SQLModel


class LogEntry(SQLModel, table=True):
    """One change to one room, in order. Never updated, never deleted."""

    __tablename__ = "log_entry"

    room: str = Field(sa_column=Column(String(200), primary_key=True))
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    #: Server time in microseconds since the Unix epoch (an exact integer, hashed as is).
    time_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    #: Which websocket connection (or API request) sent it.
    connection: str = Field(sa_column=Column(String(64), nullable=False, default=""))
    #: The authenticated participant and the role they acted in ("" when none).
    participant: str = Field(sa_column=Column(String(200), nullable=False, default=""))
    role: str = Field(sa_column=Column(String(32), nullable=False, default=""))
    #: ``update`` for a Yjs update; deliberation commands use their own kinds.
    kind: str = Field(sa_column=Column(String(64), nullable=False, default="update"))
    #: The clock ranges the update writes: varUint(n) · n × (client · first clock · end clock).
    clients: bytes = Field(sa_column=Column(LargeBinary, nullable=False, default=b""))
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    prev_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Snapshot(SQLModel, table=True):
    """A room's whole document just after entry ``seq``: a cache that makes loading fast."""

    __tablename__ = "snapshot"

    room: str = Field(sa_column=Column(String(200), primary_key=True))
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    time_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    state: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    #: Which participant owns each Yjs client id at ``seq`` (JSON), so that loading
    #: does not have to scan the whole log to know who may write with which id.
    owners: str = Field(sa_column=Column(Text, nullable=False, default="{}"))


class DraftRecord(SQLModel, table=True):
    """A draft's identity and settings. Its text and its history live in the log."""

    __tablename__ = "draft"

    id: str = Field(sa_column=Column(String(64), primary_key=True))
    title: str = Field(sa_column=Column(String(500), nullable=False))
    symbol: str = Field(sa_column=Column(String(100), nullable=False, default=""))
    created_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))


class Revocation(SQLModel, table=True):
    """A participant removed from a draft by its chair or secretariat."""

    __tablename__ = "revocation"

    draft: str = Field(sa_column=Column(String(64), primary_key=True))
    participant: str = Field(sa_column=Column(String(200), primary_key=True))
    revoked_by: str = Field(sa_column=Column(String(200), nullable=False))
    time_us: int = Field(sa_column=Column(BigInteger, nullable=False))


class Attachment(SQLModel, table=True):
    """A file attached to a document of a draft, kept once under its SHA-256 (which the log records)."""

    __tablename__ = "attachment"

    draft: str = Field(sa_column=Column(String(64), primary_key=True))
    sha256: str = Field(sa_column=Column(String(64), primary_key=True))
    media_type: str = Field(sa_column=Column(String(200), nullable=False))
    filename: str = Field(sa_column=Column(String(255), nullable=False, default=""))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    stored_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    stored_by: str = Field(sa_column=Column(String(200), nullable=False))


class SchemaVersion(SQLModel, table=True):
    __tablename__ = "schema_version"

    version: int = Field(primary_key=True)
    applied_us: int = Field(sa_column=Column(BigInteger, nullable=False))


Index("ix_log_entry_room_time", LogEntry.__table__.c.room, LogEntry.__table__.c.time_us)

LOG = LogEntry.__table__
SNAPSHOTS = Snapshot.__table__
DRAFTS = DraftRecord.__table__
REVOCATIONS = Revocation.__table__
ATTACHMENTS = Attachment.__table__
