"""Files attached to documents: kept in the database once per draft under their SHA-256, the digest the
log records in the ``document.submit`` command that uses them.

Only document formats are taken (:data:`MEDIA_TYPES`), and they are always served back as downloads
(``Content-Disposition: attachment``, ``nosniff``, a sandboxing CSP): a file is never run in a page.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from server.storage.database import Database, now_us
from server.storage.schema import ATTACHMENTS

#: Media types a document's file may have, and the extension a download gets.
MEDIA_TYPES = {
    "application/pdf": ".pdf",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/rtf": ".rtf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
}
#: Text files whose content the document search reads.
TEXT_TYPES = ("text/plain", "text/markdown")
_FILENAME = re.compile(r"[^A-Za-z0-9._ -]+")


@dataclass(frozen=True, slots=True)
class StoredFile:
    sha256: str
    size: int
    media_type: str
    filename: str

    def to_json(self) -> dict[str, object]:
        return {
            "sha256": self.sha256,
            "size": self.size,
            "media_type": self.media_type,
            "filename": self.filename,
        }


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def media_type_of(header: str) -> str | None:
    """The accepted media type a ``Content-Type`` header names (parameters dropped), or None."""
    media = header.split(";", 1)[0].strip().lower()
    return media if media in MEDIA_TYPES else None


def safe_filename(name: str, sha256: str, media_type: str) -> str:
    """A file name fit for a ``Content-Disposition`` header: ASCII, no quotes or path, the right extension."""
    stem = _FILENAME.sub("_", name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip(" ._")[:120]
    extension = MEDIA_TYPES.get(media_type, "")
    if not stem:
        stem = sha256[:16]
    return stem if stem.lower().endswith(extension) else stem + extension


async def store(
    database: Database, draft: str, data: bytes, media_type: str, filename: str, participant: str
) -> StoredFile:
    """Keep ``data`` for ``draft`` (once: the same bytes again are the same file)."""
    sha256 = digest(data)
    name = safe_filename(filename, sha256, media_type)
    stored = StoredFile(sha256, len(data), media_type, name)
    try:
        async with database.engine.begin() as conn:
            await conn.execute(
                insert(ATTACHMENTS).values(
                    draft=draft,
                    sha256=sha256,
                    media_type=media_type,
                    filename=name,
                    size=len(data),
                    data=data,
                    stored_us=now_us(),
                    stored_by=participant,
                )
            )
    except IntegrityError:
        existing = await describe(database, draft, sha256)
        if existing is not None:
            return existing
        raise
    return stored


async def count(database: Database, draft: str, by: str | None = None) -> int:
    """Files the draft keeps (that ``by`` added, when given)."""
    query = select(func.count()).select_from(ATTACHMENTS).where(ATTACHMENTS.c.draft == draft)
    if by is not None:
        query = query.where(ATTACHMENTS.c.stored_by == by)
    async with database.engine.connect() as conn:
        return int((await conn.execute(query)).scalar() or 0)


async def describe(database: Database, draft: str, sha256: str) -> StoredFile | None:
    query = select(ATTACHMENTS.c.sha256, ATTACHMENTS.c.size, ATTACHMENTS.c.media_type, ATTACHMENTS.c.filename)
    async with database.engine.connect() as conn:
        row = (
            await conn.execute(query.where(ATTACHMENTS.c.draft == draft, ATTACHMENTS.c.sha256 == sha256))
        ).first()
    return None if row is None else StoredFile(row.sha256, row.size, row.media_type, row.filename)


async def load(database: Database, draft: str, sha256: str) -> bytes | None:
    query = select(ATTACHMENTS.c.data).where(ATTACHMENTS.c.draft == draft, ATTACHMENTS.c.sha256 == sha256)
    async with database.engine.connect() as conn:
        row = (await conn.execute(query)).first()
    return None if row is None else bytes(row.data)
