"""`rag index --ray`: the same vectors from a Ray Data job (two local workers) as from the in-process build.

A small corpus keeps it quick: a local Ray with 2 CPUs, one encoder per worker actor at one thread.
The Ray build goes to the Milvus store and the in-process one to FAISS, so the whole path is covered.
"""

from __future__ import annotations

import numpy as np
import pytest

from rag.config import Settings
from rag.index import build_index

from .conftest import release_lite

ARTICLES = {
    "2025-03_a.md": ('---\ntitle: "园区建设"\ndate: "2025-03-01"\nsource: 测试\n---\n\n'
                     "鹿泉区2025年计划新建三座数据中心。\n\n园区将引进十家配套企业，完善产业链条。\n\n"
                     "新一代电子信息产业主营业务收入力争突破1200亿元。\n"),
    "2025-03_b.md": ('---\ntitle: "生物医药"\ndate: "2025-03-02"\nsource: 测试\n---\n\n'
                     "石家庄国际生物医药园规划建设2.4万亩，聚集企业近300家。\n\n"
                     "华普生物拥有41项国际发明专利，产品出口二十多个国家。\n"),
}


def test_ray_build_gives_the_in_process_vectors(tmp_path, embedder):
    ray = pytest.importorskip("ray", reason="embedding on Ray needs the ray extra")
    pytest.importorskip("pymilvus", reason="the Milvus store needs the milvus extra")
    from rag.ray_embedding import RayEmbedder, start_ray

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in ARTICLES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    local = build_index(corpus, tmp_path / "local", embedder, progress=False, store="faiss")

    start_ray(num_cpus=2)
    try:
        on_ray = RayEmbedder(Settings(threads=1), workers=2, batch_size=2, progress=False, embedder=embedder)
        built = build_index(corpus, tmp_path / "ray", on_ray, progress=False, store="milvus")
    finally:
        ray.shutdown()
    try:
        assert built.manifest["embedded"] == len(built.chunks) == len(local.chunks) >= 5
        assert [c.chunk_id for c in built.chunks] == [c.chunk_id for c in local.chunks]
        a, b = local.store.vectors(), built.store.vectors()
        cosine = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        assert cosine.min() >= 0.999, cosine
    finally:
        built.close()
        release_lite(tmp_path / "ray")
