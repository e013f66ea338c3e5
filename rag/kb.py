"""Knowledge bases: each one a corpus folder, an index folder and a small settings file.

The default base is the one the product always had (``RAG_CORPUS_DIR`` + ``RAG_INDEX_DIR``);
further bases live under ``RAG_KB_DIR/<name>/`` (``corpus/``, ``index/``). A base's ``kb.json``
(next to its corpus) holds what the page says about it: title, one-line description, example
questions. Uploaded files are kept as they came under ``corpus/uploads/``, named by a hash of
their content (the same content uploaded twice is one document), with a sidecar holding the
original file name, when it was added, and the title or date a user set; a rebuild re-reads them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .config import Settings
from .documents import SIDECAR, SUFFIXES, load_document, read_sidecar, sidecar_of

UPLOADS = "uploads"
NAME = re.compile(r"[0-9A-Za-z\u4e00-\u9fff][0-9A-Za-z_\u4e00-\u9fff-]{0,39}")  # whole name (fullmatch: no trailing newline)
FILE_NAME_CHARS = 200
EXAMPLE_CHARS = 200
# Characters a shown file name must not hold: C0 and C1 controls, DEL, bidi overrides and isolates (a
# "gpj.exe" shown as "exe.jpg"), zero-width characters and the BOM.
_HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
PAGE_DEFAULTS = {"title": "文档问答", "description": "答案直接摘自文档原文，并注明出处（文档、日期、段落）。", "examples": []}


class KnowledgeBaseError(ValueError):
    """A request about bases or documents that cannot be done; the message says why (shown to users)."""


class UnknownBase(KnowledgeBaseError):
    pass


class UnknownDocument(KnowledgeBaseError):
    pass


@dataclass(frozen=True)
class KnowledgeBase:
    name: str
    corpus_dir: Path
    index_dir: Path

    @property
    def settings_path(self) -> Path:
        return self.corpus_dir / "kb.json"

    def page(self) -> dict:
        """Title, description and examples for the page: the base's own, else neutral defaults."""
        try:
            own = json.loads(self.settings_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            own = {}
        own = own if isinstance(own, dict) else {}
        page = {key: own.get(key) or default for key, default in PAGE_DEFAULTS.items()}
        page["examples"] = [e[:EXAMPLE_CHARS] for e in page["examples"] if isinstance(e, str) and e.strip()][:8]
        return page

    def set_page(self, **values) -> dict:
        page = {**self.page(), **{k: v for k, v in values.items() if v is not None}}
        _write_atomic(self.settings_path, json.dumps(page, ensure_ascii=False, indent=2))
        return self.page()

    def files(self) -> list[Path]:
        if not self.corpus_dir.is_dir():
            return []
        return sorted(p for p in self.corpus_dir.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)

    def doc_id(self, path: Path) -> str:
        return path.relative_to(self.corpus_dir).with_suffix("").as_posix()

    def path_of(self, doc_id: str) -> Path:
        """The file behind ``doc_id`` (a key into the corpus, never a path from outside it)."""
        for path in self.files():
            if self.doc_id(path) == doc_id:
                return path
        raise UnknownDocument(f"no document {doc_id[:200]!r} in knowledge base {self.name!r}")

    @staticmethod
    def upload_id(upload: Path) -> str:
        """The doc_id an uploaded file will have: a hash of its content (the same content is one document)."""
        return f"{UPLOADS}/{_sha256(upload)[:16]}"

    def stored(self, doc_id: str, filename: str) -> bool:
        """Whether an upload with this id (and the extension of ``filename``) is in the corpus already."""
        return (self.corpus_dir / f"{doc_id}{Path(filename).suffix.lower()}").exists()

    def add(self, filename: str, upload: Path, doc_id: str | None = None) -> tuple[str, bool]:
        """Keep an uploaded file (its name checked) in the corpus; returns (doc_id, whether it was there already)."""
        suffix = Path(filename).suffix.lower()
        doc_id = doc_id or self.upload_id(upload)
        target = self.corpus_dir / f"{doc_id}{suffix}"
        if target.exists():
            return doc_id, True
        target.parent.mkdir(parents=True, exist_ok=True)
        meta = {"filename": filename, "added": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        _write_atomic(sidecar_of(target), json.dumps(meta, ensure_ascii=False))
        staging = target.with_name(f".{target.name}.{uuid.uuid4().hex[:6]}")
        shutil.copyfile(upload, staging)
        os.replace(staging, target)
        return doc_id, False

    def remove(self, doc_id: str) -> None:
        path = self.path_of(doc_id)
        path.unlink()
        sidecar_of(path).unlink(missing_ok=True)

    def discard(self, doc_id: str) -> None:
        """Remove a document if it is there (a refused or cancelled upload)."""
        try:
            self.remove(doc_id)
        except (UnknownDocument, FileNotFoundError):
            pass

    def edit(self, doc_id: str, title: str | None = None, date: str | None = None) -> None:
        """Set a document's title or date (kept in its sidecar; applied at the next rebuild)."""
        path = self.path_of(doc_id)
        meta = read_sidecar(path)
        meta.update({k: v for k, v in (("title", title), ("date", date)) if v is not None})
        _write_atomic(sidecar_of(path), json.dumps(meta, ensure_ascii=False))

    def documents(self, index=None) -> list[dict]:
        """Every file of the corpus; the serving ``index`` (None when there is none) gives title, date and paragraphs.

        A file not indexed yet is not read here (reading is the index job's, in a child process under a
        time limit): it shows the title or date a user set, else its file name.
        """
        indexed = index.documents if index is not None else {}
        paragraphs = Counter(chunk.doc_id for chunk in index.chunks) if index is not None else Counter()
        rows = []
        for path in self.files():
            doc_id = self.doc_id(path)
            side = read_sidecar(path)
            filename = shown_name(str(side.get("filename") or path.name))
            known = indexed.get(doc_id) or {"title": side.get("title") or Path(filename).stem, "date": side.get("date") or ""}
            rows.append({
                "doc_id": doc_id, "title": known.get("title", ""), "date": known.get("date", ""),
                "filename": filename, "added": side.get("added") or _mtime(path),
                "paragraphs": paragraphs.get(doc_id, 0), "indexed": doc_id in indexed,
            })
        return rows


class KnowledgeBases:
    """The bases this installation has: the default one first, then those under ``RAG_KB_DIR``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = Path(settings.kb_dir)
        self.default = KnowledgeBase(settings.kb_name, Path(settings.corpus_dir), Path(settings.index_dir))

    def names(self) -> list[str]:
        others = sorted(p.name for p in self.root.glob("*") if p.is_dir() and NAME.fullmatch(p.name)) if self.root.is_dir() else []
        return [self.default.name] + [n for n in others if n != self.default.name]

    def get(self, name: str) -> KnowledgeBase:
        if name == self.default.name:
            return self.default
        if not NAME.fullmatch(name or "") or not (self.root / name).is_dir():
            raise UnknownBase(f"no knowledge base {str(name)[:100]!r} (there are: {', '.join(self.names())})")
        return KnowledgeBase(name, self.root / name / "corpus", self.root / name / "index")

    def create(self, name: str, title: str | None = None, description: str | None = None,
               examples: list[str] | None = None) -> KnowledgeBase:
        if not NAME.fullmatch(name or ""):
            raise KnowledgeBaseError(
                "a knowledge base name is 1–40 letters, digits, Chinese characters, '-' or '_' (no paths, dots or spaces)")
        if name in self.names():
            raise KnowledgeBaseError(f"knowledge base {name!r} exists already")
        folder = self.root / name
        (folder / "corpus").mkdir(parents=True)
        (folder / "index").mkdir()
        kb = KnowledgeBase(name, folder / "corpus", folder / "index")
        kb.set_page(title=title or name, description=description, examples=examples or [])
        return kb

    def delete(self, name: str) -> None:
        """Remove a base and everything in it; the default base stays (it is the installation's own corpus)."""
        kb = self.get(name)
        if kb is self.default:
            raise KnowledgeBaseError(f"the default knowledge base {name!r} cannot be deleted")
        trash = self.root / f".deleted-{name}-{uuid.uuid4().hex[:6]}"
        os.replace(self.root / name, trash)  # gone from the list at once, even if removing the files takes long
        shutil.rmtree(trash, ignore_errors=True)


def shown_name(filename: str) -> str:
    """A file name as it may be shown: without controls, bidi overrides or zero-width characters."""
    return _HIDDEN.sub("", filename)


def check_file_name(filename: str) -> str:
    """A plain file name with a readable extension, or a KnowledgeBaseError saying what is wrong with it."""
    shown = (filename or "")[:FILE_NAME_CHARS].encode("utf-8", "replace").decode("utf-8")
    if not filename or not filename.strip():
        raise KnowledgeBaseError("a file has no name")
    if len(filename) > FILE_NAME_CHARS:
        raise KnowledgeBaseError(f"{shown_name(shown)}…: the file name is longer than {FILE_NAME_CHARS} characters")
    if _HIDDEN.search(filename) or "/" in filename or "\\" in filename or filename in (".", ".."):
        # repr() writes the hidden characters as escapes (\u202e), so the message shows what was sent
        raise KnowledgeBaseError(f"{shown!r}: a file name must not hold a path, NUL, control, bidi or zero-width characters")
    if filename.lower().endswith(SIDECAR) or Path(filename).suffix.lower() not in SUFFIXES:
        raise KnowledgeBaseError(f"{shown}: unsupported file type (use {', '.join(SUFFIXES)})")
    return filename


def sniff(filename: str, path: Path, settings: Settings | None = None) -> None:
    """Refuse now, by name, what is plainly not its type; reading it is the job's. Header-level checks
    only (``rag.formats.sniff``: first bytes, a PDF's end marker, an image's header), never parsing."""
    from .formats import FormatError, sniff as sniff_format

    try:
        sniff_format(path, Path(filename).suffix.lower(), settings)
    except FormatError as exc:
        raise KnowledgeBaseError(f"{filename}: {exc}") from None


def read_upload(filename: str, path: Path, settings: Settings | None = None):
    """Read an uploaded file (saved under a name with its extension) as indexing will, so a bad file is refused now, by
    name (``rag add``; the server's upload only sniffs). OCR is left to the index job (seconds a page)."""
    import yaml

    if path.stat().st_size == 0:
        raise KnowledgeBaseError(f"{filename}: the file is empty")
    try:
        return load_document(path, filename=filename, settings=settings, ocr=False)
    except UnicodeDecodeError:
        raise KnowledgeBaseError(f"{filename}: not UTF-8 text") from None
    except (ValueError, yaml.YAMLError) as exc:  # the format readers' errors say what is wrong in plain words
        raise KnowledgeBaseError(f"{filename}: {str(exc).splitlines()[0]}") from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _mtime(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{uuid.uuid4().hex[:6]}")
    staging.write_text(text, encoding="utf-8")
    os.replace(staging, path)
