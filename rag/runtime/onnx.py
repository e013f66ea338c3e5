"""The ONNX runtimes (``onnx``: fp32, ``onnx-int8``): sessions on exports cached under RAG_HOME.

Why ONNX Runtime: on a loaded 2-core machine at 1 thread it embeds a question 2.2x (fp32) to 4.6x
(int8) faster than torch (per-call overhead, fused attention), and int8 reads 1.2x faster; torch's
own int8 gained 1.2x on the reader and nothing on a single question.

Nothing is downloaded: on first use the built torch model is exported (:mod:`rag.runtime.export`)
into a temporary sibling, checked against torch on fixed Chinese inputs (vectors' cosine, the
reader's best spans), and renamed into place; a lock serialises concurrent builders. The folder's
name carries a fingerprint of the source model (path, sizes and times of its weights and config)
and of the export recipe and ORT version, so a rebuilt model or a new reader delta exports anew.
Each load re-runs the stored check inputs and compares with the outputs saved at export: a
truncated or altered export is rebuilt once, and refused with a clear error if that fails too.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Callable

import numpy as np

from ..model import _CHECK_QUERY, _CHECK_RELATED, _CHECK_UNRELATED, _temp_sibling, install
from .export import INPUTS, OnnxError, export, transformer_folder

RECIPE = 1  # bump when the export steps change: every cached export is made again
MODEL_FILE, MANIFEST_FILE = "model.onnx", "manifest.json"
KINDS = ("embedder", "reader")
Agreement = Callable[[Path, object, str], dict]  # (source, candidate ORT session, runtime) -> what it measured
_log = logging.getLogger(__name__)

# Fixed inputs the export must agree with torch on.
_TEXTS = [_CHECK_QUERY, _CHECK_RELATED, _CHECK_UNRELATED, "石家庄国际生物医药园占地约3000亩，已入驻企业120家。",
          "小学生免费公交专线征求意见的传真号码是0311-12345678。", "会议指出，要坚持稳中求进工作总基调，推动高质量发展。"]
# The reader's check inputs (saved at export, re-run on each load); the reader's own agreement check
# (rag.reader.reader.onnx_agreement) reads this pair and more.
READER_CHECK = ("鹿泉区电子信息产业2024年的营业收入目标是多少？",
                "鹿泉区是石家庄市电子信息产业的主要承载地。2024年，该区电子信息产业营业收入目标为1100亿元。")
_MIN_COSINE = {"onnx": 0.9999, "onnx-int8": 0.99}


def export_folder(home: Path, source: Path, kind: str, runtime: str) -> Path:
    """Where the export of ``source`` for ``runtime`` lives under ``home`` (see the module docstring)."""
    import onnxruntime

    source = Path(source).resolve()
    files = [source / "config.json", *sorted(source.glob("*.safetensors")), *sorted(source.glob("*.bin"))]
    stamp = [RECIPE, kind, runtime, onnxruntime.__version__, str(source),
             [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.is_file()]]
    key = hashlib.sha256(json.dumps(stamp).encode()).hexdigest()[:12]
    return Path(home) / "models" / "onnx" / f"{source.name}-{runtime}-{key}"


def session(path: Path, threads: int):
    """An ORT session on ``path`` with ``threads`` intra-op threads that sleep when idle (the cores are
    shared with other workers and jobs)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _check_inputs(kind: str, source: Path) -> dict:
    from transformers import AutoTokenizer

    folder = source if kind == "reader" else transformer_folder(source)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    batch = tokenizer(_TEXTS[:3], padding=True, return_tensors="np") if kind == "embedder" else \
        tokenizer(*READER_CHECK, return_tensors="np")
    return {name: batch[name].astype(np.int64).tolist() for name in INPUTS}


def open_export(folder: Path, threads: int = 1):
    """A session on the export in ``folder``, once it reproduces the outputs saved at export."""
    manifest_path, model = Path(folder) / MANIFEST_FILE, Path(folder) / MODEL_FILE
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if model.stat().st_size != manifest["bytes"]:
            raise OnnxError(f"{model} has {model.stat().st_size} bytes, its manifest says {manifest['bytes']}")
        loaded = session(model, threads)
        check = manifest["check"]
        outputs = loaded.run(None, {name: np.asarray(check[name], dtype=np.int64) for name in INPUTS})
    except OnnxError:
        raise
    except Exception as error:  # unreadable manifest, a model ORT refuses: a broken export
        raise OnnxError(f"the ONNX export at {folder} does not load: {error}") from error
    drift = max(float(np.abs(out - np.asarray(saved)).max()) for out, saved in zip(outputs, check["outputs"]))
    if not drift <= 1e-3:
        raise OnnxError(f"the ONNX export at {folder} no longer gives the outputs it gave when made (differs by {drift:.3g})")
    return loaded


def _embedder_agreement(source: Path, candidate, runtime: str) -> dict:
    """How the embedder's export agrees with torch fp32 on the fixed texts; an OnnxError if not well enough."""
    from sentence_transformers import SentenceTransformer

    from .encoder import OnnxEncoder

    torch_vectors = SentenceTransformer(str(source), device="cpu", local_files_only=True).encode(
        _TEXTS, prompt_name="passage", normalize_embeddings=True, convert_to_numpy=True)
    cosine = np.sum(OnnxEncoder(source, candidate).encode(_TEXTS, "passage") * torch_vectors, axis=1)
    if cosine.min() < _MIN_COSINE[runtime]:
        raise OnnxError(f"the {runtime} export of {source} gives vectors at cosine {cosine.min():.4f} "
                        f"to torch's, below {_MIN_COSINE[runtime]}")
    return {"cosine_min": round(float(cosine.min()), 5)}


def _build(kind: str, source: Path, runtime: str, target: Path, agreement: Agreement) -> None:
    import onnxruntime
    import torch

    building, threads = _temp_sibling(target), torch.get_num_threads()  # the torch reference resets them
    try:
        model = building / MODEL_FILE
        done = export(kind, source, model, int8=runtime == "onnx-int8")
        agreed = agreement(source, session(model, 1), runtime)
        check = _check_inputs(kind, source)
        outputs = session(model, 1).run(None, {name: np.asarray(check[name], dtype=np.int64) for name in INPUTS})
        manifest = {"recipe": RECIPE, "kind": kind, "runtime": runtime, "source": str(source),
                    "onnxruntime": onnxruntime.__version__, "bytes": model.stat().st_size, **done,
                    "agreement_with_torch": agreed, "check": {**check, "outputs": [o.tolist() for o in outputs]}}
        (building / MANIFEST_FILE).write_text(json.dumps(manifest, ensure_ascii=False) + "\n", encoding="utf-8")
        install(building, target)
    finally:
        torch.set_num_threads(threads)
        shutil.rmtree(building, ignore_errors=True)


def _require(module: str, runtime: str) -> None:
    try:
        __import__(module)
    except ImportError as error:
        raise OnnxError(f"RAG_RUNTIME={runtime} needs onnxruntime and onnx (pip install onnxruntime onnx), "
                        f"or choose RAG_RUNTIME=torch ({error})") from error


def load(kind: str, source: Path, runtime: str, home: Path, threads: int = 1, agreement: Agreement | None = None):
    """A verified session for the ``kind`` model at ``source`` in ``runtime``, exported on first use.

    ``agreement(source, candidate session, runtime)`` checks a new export against torch (an OnnxError if it
    disagrees) and returns what it measured; the embedder's is here, the reader's is the reader's own
    (:func:`rag.reader.reader.onnx_session`), so this runtime layer never imports the reader."""
    if kind not in KINDS or runtime not in _MIN_COSINE:
        raise ValueError(f"no ONNX export for {kind!r} in {runtime!r}")
    agreement = agreement or {"embedder": _embedder_agreement}.get(kind)
    if agreement is None:
        raise ValueError(f"an ONNX export of the {kind} needs its agreement check (rag.reader.reader.onnx_session)")
    _require("onnxruntime", runtime)
    target = export_folder(home, source, kind, runtime)
    if target.is_dir():
        try:
            return open_export(target, threads)
        except OnnxError as error:
            _log.warning("%s: exporting again", error)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:  # another process may have exported it while we waited
            return open_export(target, threads)
        except OnnxError:
            pass
        for leftover in target.parent.glob(f".{target.name}.tmp-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        _require("onnx", runtime)  # only an export needs it: a start on a cached export does not import it
        _log.warning("exporting the %s to ONNX (%s) into %s, once", kind, runtime, target)
        _build(kind, Path(source), runtime, target, agreement)
    return open_export(target, threads)
