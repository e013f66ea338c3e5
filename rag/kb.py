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
NAME = re.compile(r"^[0-9A-Za-z\u4e00-\u9fff][0-9A-Za-z_\u4e00-\u9fff-]{0,39}$")
FILE_NAME_CHARS = 200
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
        page["examples"] = [str(e) for e in page["examples"] if isinstance(e, str) and e.strip()][:8]
        return page

    def set_page(self, **values) -> dict:
        page = {**self.page(), **{k: v for k, v in values.items() if v is not None}}
        _write_atomic(self.settings_path, json.dumps(page, ensure_ascii=False, indent=2))
        return self.page()

    def files(self) -> list[Path]:
        if not self.corpus_dir.is_dir():
            return []
        return sorted(p for p in self.corpus_dir.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)

    def path_of(self, doc_id: str) -> Path:
        """The file behind ``doc_id`` (a key into the corpus, never a path from outside it)."""
        for path in self.files():
            if path.relative_to(self.corpus_dir).with_suffix("").as_posix() == doc_id:
                return path
        raise UnknownDocument(f"no document {doc_id[:200]!r} in knowledge base {self.name!r}")

    def add(self, filename: str, upload: Path) -> tuple[str, bool]:
        """Keep an uploaded file (already checked) in the corpus; returns (doc_id, whether it was there already)."""
        suffix = Path(filename).suffix.lower()
        digest = _sha256(upload)[:16]
        target = self.corpus_dir / UPLOADS / f"{digest}{suffix}"
        doc_id = f"{UPLOADS}/{digest}"
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

    def edit(self, doc_id: str, title: str | None = None, date: str | None = None) -> None:
        """Set a document's title or date (kept in its sidecar; applied at the next rebuild)."""
        path = self.path_of(doc_id)
        meta = read_sidecar(path)
        meta.update({k: v for k, v in (("title", title), ("date", date)) if v is not None})
        _write_atomic(sidecar_of(path), json.dumps(meta, ensure_ascii=False))

    def documents(self, index=None) -> list[dict]:
        """Every file of the corpus; the serving ``index`` (None when there is none) gives title, date and paragraphs."""
        indexed = index.documents if index is not None else {}
        paragraphs = Counter(chunk.doc_id for chunk in index.chunks) if index is not None else Counter()
        rows = []
        for path in self.files():
            doc_id = path.relative_to(self.corpus_dir).with_suffix("").as_posix()
            side = read_sidecar(path)
            known = indexed.get(doc_id)
            if known is None:
                try:
                    doc = load_document(path, self.corpus_dir, ocr=False)  # a scan waiting for its job is not read here
                    known = {"title": doc.title, "date": doc.date}
                except (ValueError, UnicodeDecodeError):
                    known = {"title": path.stem, "date": ""}
            rows.append({
                "doc_id": doc_id, "title": known.get("title", ""), "date": known.get("date", ""),
                "filename": side.get("filename") or path.name, "added": side.get("added") or _mtime(path),
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
        others = sorted(p.name for p in self.root.glob("*") if p.is_dir() and NAME.match(p.name)) if self.root.is_dir() else []
        return [self.default.name] + [n for n in others if n != self.default.name]

    def get(self, name: str) -> KnowledgeBase:
        if name == self.default.name:
            return self.default
        if not NAME.match(name or "") or not (self.root / name).is_dir():
            raise UnknownBase(f"no knowledge base {str(name)[:100]!r} (there are: {', '.join(self.names())})")
        return KnowledgeBase(name, self.root / name / "corpus", self.root / name / "index")

    def create(self, name: str, title: str | None = None, description: str | None = None,
               examples: list[str] | None = None) -> KnowledgeBase:
        if not NAME.match(name or ""):
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


def check_file_name(filename: str) -> str:
    """A plain file name with a readable extension, or a KnowledgeBaseError saying what is wrong with it."""
    shown = (filename or "")[:FILE_NAME_CHARS].encode("utf-8", "replace").decode("utf-8")
    if not filename or not filename.strip():
        raise KnowledgeBaseError("a file has no name")
    if len(filename) > FILE_NAME_CHARS:
        raise KnowledgeBaseError(f"{shown}…: the file name is longer than {FILE_NAME_CHARS} characters")
    if any(ord(c) < 32 for c in filename) or "/" in filename or "\\" in filename or filename in (".", ".."):
        raise KnowledgeBaseError(f"{shown!r}: a file name must not hold a path, NUL or control characters")
    if filename.lower().endswith(SIDECAR) or Path(filename).suffix.lower() not in SUFFIXES:
        raise KnowledgeBaseError(f"{shown}: unsupported file type (use {', '.join(SUFFIXES)})")
    return filename


def read_upload(filename: str, path: Path, settings: Settings | None = None):
    """Read an uploaded file (saved under a name with its extension) as indexing will, so a bad file is refused now, by name.

    Everything is checked here except OCR itself, which takes seconds a page: a scan's pages are
    read by the index job (its stage says "OCR page 3/20"), never in the request."""
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
