"""Section 4, a peer: the same model in a LangChain pipeline (FAISS, BM25Retriever, EnsembleRetriever)."""

from __future__ import annotations

import time
from pathlib import Path

from .common import TOP_K, WARMUP, Run, history, interleaved, optional, stats, table


def langchain():
    """The LangChain pieces, or the install hint; EnsembleRetriever moved to langchain_classic in 1.x."""
    core = optional("langchain_core.embeddings", "langchain-core")
    stores = optional("langchain_community.vectorstores", "langchain-community")
    retrievers = optional("langchain_community.retrievers", "langchain-community (with rank-bm25)")
    optional("rank_bm25", "rank-bm25")
    try:
        from langchain_classic.retrievers import EnsembleRetriever
    except ImportError:
        EnsembleRetriever = optional("langchain.retrievers", "langchain-classic").EnsembleRetriever
    return core.Embeddings, stores.FAISS, retrievers.BM25Retriever, EnsembleRetriever


def bench_peer(run: Run) -> tuple[dict, str]:
    """Ours vs FAISS + BM25Retriever + EnsembleRetriever (0.5/0.5) over the same chunk texts and model."""
    import jieba
    from sentence_transformers import SentenceTransformer

    from ..eval import first_hit
    from ..model import ensure_model
    from ..tokenizing import default_tokenizer

    Embeddings, FAISS, BM25Retriever, EnsembleRetriever = langchain()
    path = Path(run.settings.model) if run.settings.model else ensure_model(run.settings.home, progress=False)
    model = SentenceTransformer(str(path), device="cpu", local_files_only=True)

    class E5(Embeddings):
        """sentence-transformers with the e5 prefixes, the way a LangChain user would wire it."""

        def embed_documents(self, texts):
            return model.encode(texts, prompt="passage: ", normalize_embeddings=True, batch_size=32).tolist()

        def embed_query(self, text):
            return model.encode([text], prompt="query: ", normalize_embeddings=True)[0].tolist()

    chunks = run.engine.index.chunks
    texts = [chunk.retrieval_text() for chunk in chunks]
    metadatas = [{"row": i} for i in range(len(chunks))]
    started = time.perf_counter()
    store = FAISS.from_texts(texts, E5(), metadatas=metadatas)
    peer_build_s = time.perf_counter() - started
    dense = store.as_retriever(search_kwargs={"k": TOP_K})
    bm25_plain = BM25Retriever.from_texts(texts, metadatas=metadatas, preprocess_func=jieba.lcut, k=TOP_K)
    bm25_ours = BM25Retriever.from_texts(texts, metadatas=metadatas, preprocess_func=default_tokenizer(), k=TOP_K)

    def ensemble(bm25):
        return EnsembleRetriever(retrievers=[bm25, dense], weights=[0.5, 0.5])

    def retrieve(retriever):
        return lambda item: [chunks[d.metadata["row"]].text for d in retriever.invoke(item["question"])[:TOP_K]]

    systems = {
        "ours: Engine.ask (hybrid)": lambda item: [c.text for c in run.engine.ask(item["question"], TOP_K, history(item)).citations],
        "LangChain FAISS": retrieve(dense),
        "LangChain BM25 (jieba.lcut)": retrieve(bm25_plain),
        "LangChain Ensemble (jieba.lcut)": retrieve(ensemble(bm25_plain)),
        "LangChain Ensemble (rag tokenizer)": retrieve(ensemble(bm25_ours)),
    }
    items = [item for item in run.items if item["answers"]]
    kinds = sorted({item["kind"] for item in items})
    ranks: dict[str, list] = {name: [] for name in systems}

    def judged(name: str, system):
        def step(item: dict) -> None:
            texts_out = system(item)
            ranks[name].append(first_hit(item, [{"rank": r, "text": t} for r, t in enumerate(texts_out, start=1)]))
        return step

    steps = {name: judged(name, system) for name, system in systems.items()}
    interleaved(steps, items[:WARMUP])
    for judged_ranks in ranks.values():
        judged_ranks.clear()  # the warm-up's
    ms = interleaved(steps, items)
    data, rows = {"peer_faiss_build_s": round(peer_build_s, 2), "systems": {}}, []
    for name in systems:
        r, s = ranks[name], stats(ms[name])
        result = {"hit@1": round(sum(x == 1 for x in r) / len(items), 3),
                  "hit@5": round(sum(x is not None for x in r) / len(items), 3),
                  "mrr": round(sum(1 / x for x in r if x) / len(items), 3), "p50_ms": s["p50"], "p95_ms": s["p95"],
                  "hit@1_by_kind": {k: round(sum(x == 1 for x, i in zip(r, items) if i["kind"] == k)
                                             / sum(i["kind"] == k for i in items), 3) for k in kinds}}
        data["systems"][name] = result
        rows.append([name, result["hit@1"], result["hit@5"], result["mrr"], s["p50"], s["p95"]])
    by_kind = [[name] + [r["hit@1_by_kind"][k] for k in kinds] for name, r in data["systems"].items()]
    ours, *peers = data["systems"].items()
    best_name, best = max(peers, key=lambda p: p[1]["hit@1"])
    data["ours_minus_best_peer_hit@1"] = round(ours[1]["hit@1"] - best["hit@1"], 3)
    data["ours_over_best_peer_p50"] = round(ours[1]["p50_ms"] / best["p50_ms"], 2)
    md = (f"{len(items)} answerable gold items, top {TOP_K}, same chunk texts (`retrieval_text()`) and the same rebuilt "
          "e5 model (prefixes `query: `/`passage: `; LangChain's FAISS store is its default IndexFlatL2, the same "
          "order on unit vectors); a hit = citation text holding an answer and its evidence (`rag.eval.first_hit`). "
          "The peer gets the question alone: no history, no English handling, and traditional→simplified only in "
          "the BM25 of the \"rag tokenizer\" variant; ours gets the history like `/ask`. In-process latency, one "
          "query at a time, the systems taken in turn per question. LangChain FAISS store built (embedding all "
          f"paragraphs) in {data['peer_faiss_build_s']} s.\n\n"
          + table(["system", "hit@1", "hit@5", "MRR", "p50 ms", "p95 ms"], rows)
          + f"\n\nOurs vs the best peer ({best_name}): hit@1 {data['ours_minus_best_peer_hit@1']:+.3f}, "
          f"p50 latency {data['ours_over_best_peer_p50']}×.\n\nhit@1 by kind:\n\n" + table(["system"] + kinds, by_kind))
    return data, md
