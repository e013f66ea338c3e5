"""The ONNX runtimes: exported once from the built models into RAG_HOME, reused, refused when broken,
and embedding and reading like fp32 torch (real models; the first run pays the exports, ~1-2 min)."""

from __future__ import annotations

import json
import shutil
import time

import numpy as np
import pytest

from rag.config import Settings
from rag.embedding import Embedder
from rag.reader.metrics import f1
from rag.reader.reader import MIN_INT8_SPAN_F1, Reader
from rag.runtime import onnx

PASSAGES = ["鹿泉区将大力实施新一代电子信息产业三年倍增计划，力争2024年主营业务收入突破1100亿元。",
            "石家庄国际生物医药园占地约3000亩。", "小学生免费公交专线征求意见的传真号码是0311-12345678。",
            "市教育局征求意见：新开通的免费校车线路将在早晚上下学时段接送中小学生。"]
QUESTIONS = [("鹿泉区2024年电子信息产业目标是多少", PASSAGES[0]), ("生物医药园占地多少亩", PASSAGES[1]),
             ("征求意见的传真号码是多少", PASSAGES[2])]


@pytest.fixture(scope="module")
def torch_embedder():
    return Embedder(Settings(threads=1, runtime="torch"), progress=False)


@pytest.mark.parametrize("runtime", ["onnx", "onnx-int8"])
def test_the_onnx_runtimes_embed_and_read_like_torch(runtime, reader, torch_embedder):
    embedder = torch_embedder  # the reader fixture is torch too (Reader's own default)
    exported = Embedder(Settings(threads=1, runtime=runtime), progress=False)
    cosine = np.sum(exported.passages(PASSAGES) * embedder.passages(PASSAGES), axis=1)
    assert cosine.min() >= 0.99, cosine
    assert exported.queries(["鹿泉区"]).shape == (1, exported.dimension) == (1, 384)
    assert exported.count_tokens(PASSAGES[1]) == embedder.count_tokens(PASSAGES[1])

    read = Reader(reader.path, threads=1, runtime=runtime)
    for question, passage in QUESTIONS:
        ours, theirs = read.read(question, [passage])[0], reader.read(question, [passage])[0]
        if runtime == "onnx":
            assert (ours.start, ours.end, ours.text) == (theirs.start, theirs.end, theirs.text), (ours, theirs)
        else:  # int8 may move an edge by a qualifier (约3000亩 → 3000亩), not the answer
            assert f1(ours.text, [theirs.text]) >= MIN_INT8_SPAN_F1, (ours, theirs)
    windows = read.windows(QUESTIONS[0][0], [QUESTIONS[0][1]], None)
    assert [s.shape for s in read.logits(windows)] == [s.shape for s in reader.logits(windows)]


def test_an_export_is_reused_and_a_broken_one_refused(reader, tmp_path):
    home = Settings().home
    Reader(reader.path, threads=1, runtime="onnx-int8")  # exported by now, if not before
    folder = onnx.export_folder(home, reader.path, "reader", "onnx-int8")
    made = (folder / onnx.MODEL_FILE).stat().st_mtime_ns
    started = time.perf_counter()
    Reader(reader.path, threads=1, runtime="onnx-int8")
    assert (folder / onnx.MODEL_FILE).stat().st_mtime_ns == made, "the export was made again"
    assert time.perf_counter() - started < 30
    manifest = json.loads((folder / onnx.MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["fused_attention_layers"] == 12 and manifest["agreement_with_torch"]["best_spans_agree"] == 3

    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    with open(broken / onnx.MODEL_FILE, "r+b") as handle:
        handle.write(b"\0" * 4096)  # the same size, an unreadable header
    with pytest.raises(onnx.OnnxError, match="does not load"):
        onnx.open_export(broken)
    with open(broken / onnx.MODEL_FILE, "r+b") as handle:
        handle.truncate(1 << 20)
    with pytest.raises(onnx.OnnxError, match="its manifest says"):
        onnx.open_export(broken)


def test_a_changed_model_gets_its_own_export(reader, tmp_path):
    copy = tmp_path / reader.path.name
    copy.mkdir()
    for path in reader.path.iterdir():
        (copy / path.name).symlink_to(path) if path.name != "config.json" else shutil.copy(path, copy / path.name)
    first = onnx.export_folder(tmp_path, copy, "reader", "onnx")
    (copy / "config.json").write_text((copy / "config.json").read_text() + "\n")
    assert onnx.export_folder(tmp_path, copy, "reader", "onnx") != first
    assert onnx.export_folder(tmp_path, copy, "reader", "onnx-int8") != first
    with pytest.raises(ValueError, match="no ONNX export"):
        onnx.load("reader", copy, "int8", tmp_path)
