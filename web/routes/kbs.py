"""Knowledge bases and their documents over HTTP: list, create, delete, upload, edit, and jobs.

An upload request only stores files: their names, size and headers are checked (first bytes, a PDF's
end marker, an image's type, pixels and pages: ``rag.formats.sniff``; a file that is plainly not its
type is refused with a 4xx naming it, and then nothing in the request is added), and a job is queued.
Reading the files (PDF, Word, slides, sheets, OCR of scans and images …) is the job's, in a child
process under a time limit, so no upload holds a server thread; a file the job cannot read or index
fails the job with a message naming it (and the limit it ran into), and is removed. ``GET /jobs/{id}`` follows a job, ``DELETE /jobs/{id}``
cancels it; questions are answered from the previous version until the new one is switched in.
With ``RAG_API_KEY`` set, reading documents or jobs needs the key as writing does.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator
from starlette.datastructures import UploadFile

from rag.jobs import JobError
from rag.kb import EXAMPLE_CHARS, KnowledgeBaseError, UnknownBase, UnknownDocument, check_file_name, sniff

from ..deps import ApiKey, LibraryDep
from ..library import BaseBusy, Library, NoDocuments

router = APIRouter(tags=["knowledge bases"])
MAX_FILES = 20
COPY_BLOCK = 1 << 20


Example = Annotated[StrictStr, Field(max_length=EXAMPLE_CHARS)]


class NewBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr = Field(description="1–40 letters, digits, Chinese characters, '-' or '_'")
    title: StrictStr | None = Field(default=None, max_length=60)
    description: StrictStr | None = Field(default=None, max_length=300)
    examples: list[Example] = Field(default_factory=list, max_length=8)


class PageSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: StrictStr | None = Field(default=None, max_length=60)
    description: StrictStr | None = Field(default=None, max_length=300)
    examples: list[Example] | None = Field(default=None, max_length=8)


class DocumentEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: StrictStr | None = Field(default=None, min_length=1, max_length=200)
    date: StrictStr | None = Field(default=None, pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$", description="YYYY, YYYY-MM or YYYY-MM-DD")

    @field_validator("date")
    @classmethod
    def _real_date(cls, value: str | None) -> str | None:
        if value is not None:
            parts = [int(part) for part in value.split("-")] + [1, 1]
            try:
                date(*parts[:3])
            except ValueError:
                raise ValueError(f"{value} is not a calendar date (years 0001–9999, months 01–12, days of that month)") from None
        return value


def _base(library: Library, kb: str):
    try:
        return library.base(kb)
    except UnknownBase as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None


def _summary(library: Library, name: str) -> dict:
    kb = library.base(name)
    try:
        manifest = library.engine(name).index.manifest
    except NoDocuments:
        manifest = {}
    return {"name": name, **kb.page(), "default": name == library.bases.default.name,
            "documents": manifest.get("documents", 0), "chunks": manifest.get("chunks", 0)}


@router.get("/kbs")
def list_bases(library: LibraryDep) -> dict:
    return {"knowledge_bases": [_summary(library, name) for name in library.bases.names()]}


@router.post("/kbs", status_code=201, dependencies=[ApiKey])
def create_base(body: NewBase, library: LibraryDep) -> dict:
    try:
        library.bases.create(body.name, body.title, body.description, body.examples)
    except KnowledgeBaseError as exc:
        raise HTTPException(status_code=409 if "exists" in str(exc) else 400, detail=str(exc)) from None
    return _summary(library, body.name)


@router.patch("/kbs/{kb}", dependencies=[ApiKey])
def edit_base(kb: str, body: PageSettings, library: LibraryDep) -> dict:
    _base(library, kb).set_page(**body.model_dump())
    return _summary(library, kb)


@router.delete("/kbs/{kb}", dependencies=[ApiKey])
def delete_base(kb: str, library: LibraryDep) -> dict:
    """Delete a base and its documents (not the default one; not while an index job runs on it)."""
    _base(library, kb)
    try:
        library.delete(kb)
    except BaseBusy as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    except KnowledgeBaseError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    return {"deleted": kb}


@router.get("/kbs/{kb}/documents", dependencies=[ApiKey])
def list_documents(kb: str, library: LibraryDep) -> dict:
    base = _base(library, kb)
    try:
        index = library.engine(kb).index
    except NoDocuments:
        index = None
    return {"kb": kb, "documents": base.documents(index), "jobs_pending": library.jobs.pending(kb)}


@router.post("/kbs/{kb}/documents", status_code=202, dependencies=[ApiKey],
             openapi_extra={"requestBody": {"content": {"multipart/form-data": {"schema": {
                 "type": "object", "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}}})
async def upload_documents(kb: str, request: Request, library: LibraryDep) -> dict:
    """Add files (multipart field ``files``; .pdf .docx .doc .pptx .xlsx .csv .md .txt .html, images); returns the indexing job."""
    base = _base(library, kb)
    limit = int(library.settings.max_upload_mb * 1024 * 1024)
    length = request.headers.get("content-length")
    if length is None:
        raise HTTPException(status_code=411, detail="send the upload with a Content-Length header")
    if not length.isdigit() or int(length) > limit:
        raise HTTPException(status_code=413, detail=f"the upload is larger than the limit of {library.settings.max_upload_mb:g} MB")
    try:
        form = await request.form(max_files=MAX_FILES, max_fields=10)
    except HTTPException:
        raise
    except Exception as exc:  # a malformed multipart body
        raise HTTPException(status_code=400, detail=f"body: not a readable multipart/form-data upload ({exc})"[:300]) from None
    uploads = [item for item in form.getlist("files") if isinstance(item, UploadFile)]
    if not uploads:
        raise HTTPException(status_code=400, detail="no files: send them in the multipart field 'files'")
    with tempfile.TemporaryDirectory(prefix="rag-upload-") as folder:
        checked, problems = [], []
        for number, upload in enumerate(uploads):
            try:
                name = check_file_name(upload.filename or "")
                path = Path(folder) / f"{number}{Path(name).suffix.lower()}"
                with path.open("wb") as out:
                    while block := await upload.read(COPY_BLOCK):
                        out.write(block)
                await run_in_threadpool(sniff, name, path, library.settings)
                checked.append((name, path, await run_in_threadpool(base.upload_id, path)))
            except KnowledgeBaseError as exc:
                problems.append(str(exc))
        await form.close()
        if problems:
            unsupported = all("unsupported file type" in p for p in problems)
            raise HTTPException(status_code=415 if unsupported else 400, detail="; ".join(problems))
        new = list(dict.fromkeys(doc_id for name, _, doc_id in checked if not base.stored(doc_id, name)))
        # The job is recorded before the files are stored: a crash in between re-runs it at the next start.
        job = library.jobs.submit(kb, "add", new, start=False) if new else None
        library.added(kb, new)
        added = []
        try:
            for name, path, doc_id in checked:
                _, duplicate = await run_in_threadpool(base.add, name, path, doc_id)
                added.append({"doc_id": doc_id, "filename": name, "duplicate": duplicate})
        finally:
            if job is not None:
                library.jobs.start(job)
    return {"kb": kb, "documents": added, "job": asdict(job) if job else None}


@router.patch("/kbs/{kb}/documents/{doc_id:path}", status_code=202, dependencies=[ApiKey])
def edit_document(kb: str, doc_id: str, body: DocumentEdit, library: LibraryDep) -> dict:
    """Set a document's title or date; the index is rebuilt with them."""
    try:
        _base(library, kb).edit(doc_id, body.title, body.date)
    except UnknownDocument as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    return {"kb": kb, "doc_id": doc_id, "job": asdict(library.jobs.submit(kb, "edit", [doc_id]))}


@router.delete("/kbs/{kb}/documents/{doc_id:path}", status_code=202, dependencies=[ApiKey])
def delete_document(kb: str, doc_id: str, library: LibraryDep) -> dict:
    """Remove a document; once the job is done no answer cites it."""
    _base(library, kb)
    try:
        job = library.remove_document(kb, doc_id)
    except UnknownDocument as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    return {"kb": kb, "doc_id": doc_id, "job": asdict(job)}


@router.get("/jobs/{job_id}", dependencies=[ApiKey])
def job_status(job_id: str, library: LibraryDep) -> dict:
    job = library.jobs.get(job_id)
    if job is None:
        raise HTTPException(status_code=404, detail=f"no job {job_id[:40]!r}")
    return asdict(job)


@router.delete("/jobs/{job_id}", status_code=202, dependencies=[ApiKey])
def cancel_job(job_id: str, library: LibraryDep) -> dict:
    """Cancel a queued job, or stop a running one at its next checkpoint (follow it until ``cancelled``);
    the previous index version keeps serving, and a cancelled upload's files are removed."""
    try:
        return asdict(library.jobs.cancel(job_id))
    except KeyError:
        raise HTTPException(status_code=404, detail=f"no job {job_id[:40]!r}") from None
    except JobError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
