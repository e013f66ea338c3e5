"""The bench's report: headlines, the machine and how busy it was, written as markdown and JSON."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

from ..reports import append_history, commit, figures, remove, reports_of
from .common import optional, ratio, table
from .load import LOAD_REQUESTS

# The sections in report order, with their titles.
TITLES = {"query": "1. Query path", "indexing": "2. Indexing", "retrieval": "3. Retrieval variants",
          "peer": "4. Peer: the same model in LangChain", "scale": "5. Scale (synthetic)", "load": "6. Load",
          "runtime": "7. Runtimes: torch fp32 and int8, ONNX Runtime fp32 and int8", "uploads": "8. Uploads under load",
          "archive": "9. An archive of yearly reports"}
NAME = "bench"  # reports are bench-<stamp>.md, .json and (with scale) -scale.png


class Contention:
    """CPU time other processes took while the bench ran: a shared machine makes every number noisier."""

    def __init__(self) -> None:
        self.psutil = optional("psutil", "psutil")
        self.start = self._sample()

    def _sample(self) -> tuple[float, float, float, float]:
        times, own = self.psutil.cpu_times(), self.psutil.Process().cpu_times()
        busy = times.user + times.nice + times.system + getattr(times, "irq", 0.0) + getattr(times, "softirq", 0.0)
        return time.perf_counter(), busy, own.user + own.system, getattr(times, "steal", 0.0)

    def report(self) -> dict:
        (t0, busy0, own0, steal0), (t1, busy1, own1, steal1) = self.start, self._sample()
        others = max(0.0, (busy1 - busy0) - (own1 - own0))
        available = (t1 - t0) * (os.cpu_count() or 1)
        return {"other_processes_cpu_s": round(others, 1), "available_cpu_s": round(available, 1),
                "other_processes_share": round(others / available, 3) if available else None,
                "steal_cpu_s": round(steal1 - steal0, 1), "load_average_end": [round(x, 2) for x in os.getloadavg()]}


def headlines(results: dict, threads: int) -> list[str]:
    """One line per section that ran: the ratio or rate it exists to show."""
    lines = []
    if "query" in results:
        threads = min(threads, 2)  # the query path is measured at 1 and 2
        q = results["query"][threads]
        lines.append(f"Query path (torch {threads}): POST /ask p50 {q['POST /ask via uvicorn']['p50']} ms = "
                     f"{q['http_over_embed_p50']}× the bare query embedding ({q['Embedder.queries (1 question)']['p50']} ms); "
                     f"p95 {q['http_over_embed_p95']}×.")
    if "indexing" in results:
        i = results["indexing"]
        lines.append(f"Indexing: `rag index` builds {i['build_per_s']} paragraphs/s ({i['build_over_before']}× fp32 torch's bare "
                     f"encoding at 1 thread); bare encoding against it: " + ", ".join(
                         f"{name} {ratio}×" for name, ratio in i["encode_over_before"].items()) + ".")
    if "retrieval" in results:
        r = results["retrieval"]
        lines.append("Retrieval hit@1 / MRR: " + ", ".join(f"{m} {r[m]['hit@1']} / {r[m]['mrr']}" for m in ("bm25", "dense", "hybrid")) + ".")
    if "peer" in results:
        ours = results["peer"]["systems"]["ours: Engine.ask (hybrid)"]
        lines.append(f"Peer: ours hit@1 {ours['hit@1']}, {results['peer']['ours_minus_best_peer_hit@1']:+.3f} vs the best "
                     f"LangChain pipeline, at {results['peer']['ours_over_best_peer_p50']}× its p50 latency.")
    if "scale" in results:
        n = max(results["scale"]["sizes"])
        f, h, b = (results["scale"]["sizes"][n][k] for k in ("flat", "hnsw", "bm25"))
        lines.append(f"Scale at {n:,}: flat p50 {f['p50']} ms vs HNSW {h['p50']} ms ({ratio(f['p50'], h['p50'])}, "
                     f"recall@10 {h['recall@10']}); BM25 p50 {b['p50']} ms.")
    if "runtime" in results:
        r = results["runtime"]
        lines.append("Runtime, against fp32 torch: " + "; ".join(
            f"{rt} Engine.ask p50 {v['Engine.ask']}×, encoding {v['encode_speedup']}× as fast, vectors cosine ≥ "
            f"{r['cosine_min'][rt]}, reader F1 {r['quality'][rt].get('reader_f1')}" for rt, v in r["over_torch"].items())
            + f" (torch reader F1 {r['quality']['torch'].get('reader_f1')}).")
    if "load" in results:
        lines.append(f"Load, {LOAD_REQUESTS} concurrent /ask: " + "; ".join(
            f"{name}: {v['errors']} errors, {v['throughput_rps']} requests/s ({v['throughput_over_unbatched']}×), "
            f"p50 {v['p50']} ms, p95 {v['p95']} ms, lone p50 {v['lone_p50']} ms" for name, v in results["load"]["variants"].items()) + ".")
    return [f"- {line}" for line in lines]


def machine(settings) -> dict:
    import bm25s
    import faiss
    import torch

    cpu = platform.processor()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(optional("psutil", "psutil").virtual_memory().total / 2**30, 1),
        "python": platform.python_version(), "torch": torch.__version__, "faiss": faiss.__version__,
        "bm25s": bm25s.__version__, "RAG_THREADS (settings.threads)": settings.threads,
        "torch threads at start (Embedder sets RAG_THREADS)": torch.get_num_threads(), "faiss OpenMP threads": faiss.omp_get_max_threads(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "unset"),
        "load average at start (1/5/15 min)": [round(x, 2) for x in os.getloadavg()],
        "code (git)": commit(),
    }


def write(out: Path, stamp: str, run: dict, results: dict, texts: dict[str, str], threads: int) -> Path:
    """``bench-<stamp>.md`` and ``.json`` (and ``-scale.png``) in ``out``; then older bench reports
    whose every section has been measured again since go, and one line per section goes to history.csv.

    ``run``: command, total_s, peak_rss_mib, machine, contention."""
    from .scale import plot

    out.mkdir(parents=True, exist_ok=True)
    base = out / f"{NAME}-{stamp}"
    others = run["contention"]
    parts = [f"# Benchmark {stamp}", f"`{run['command']}` — total {run['total_s']} s, peak RSS {run['peak_rss_mib']} MiB.",
             "## Headlines", "\n".join(headlines(results, threads)), "## Machine",
             table(["", ""], [[k, v] for k, v in run["machine"].items()]),
             f"Other processes used {others['other_processes_cpu_s']} of the {others['available_cpu_s']} CPU-seconds "
             f"available during the run ({others['other_processes_share']:.0%}), the hypervisor took {others['steal_cpu_s']} "
             f"(steal); load average at the end "
             f"{others['load_average_end']}. Compare ratios taken in this run rather than absolute times across runs."]
    for name, title in TITLES.items():
        if name in texts:
            parts += [f"## {title}", texts[name] + f"\n\n_Section time: {results[name]['section_s']} s._"]
    if "scale" in results:
        png = base.with_name(base.name + "-scale.png")
        plot(results["scale"], png, f"single-query latency, {run['machine']['cpu']}, 1 thread")
        parts.append(f"![latency against corpus size]({png.name})")
    base.with_suffix(".md").write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    base.with_suffix(".json").write_text(json.dumps({"stamp": stamp, **run, "results": results},
                                                    ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    keep_latest_sections(out)
    append_history(out, [{"timestamp": stamp, "set": f"bench-{name}", "commit": run["machine"]["code (git)"],
                          "report": base.with_suffix(".md").name, "other": figures(section_figures(name, data))}
                         for name, data in results.items()])
    return base


def sections_of(files: list[Path]) -> set[str]:
    """The sections a bench report measured, from its JSON (its results, or else its command's --only)."""
    for path in files:
        if path.suffix == ".json":
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return set()
            if data.get("results"):
                return set(data["results"]) & set(TITLES)
            only = data.get("command", "").partition("--only ")[2].split(" ")[0]
            return set(only.split(",")) & set(TITLES)
    return set()


def keep_latest_sections(out: Path) -> list[Path]:
    """Remove every bench report all of whose sections a newer report measured again (and the old
    ``bench-latest.md``); a report that is still the latest for one section stays. Returns what went."""
    covered, gone = set(), remove([out / f"{NAME}-latest.md"]) if (out / f"{NAME}-latest.md").exists() else []
    for stamp, files in reversed(reports_of(out, NAME).items()):
        sections = sections_of(files)
        if sections and sections <= covered:
            gone += remove(files)
        covered |= sections
    return gone


def section_figures(name: str, data: dict) -> dict:
    """The few figures of a section that go to history.csv."""
    if name == "query":
        q = data.get(1) or data.get("1") or {}
        return {"threads": 1, "ask_p50_ms": q.get("POST /ask via uvicorn", {}).get("p50"),
                "ask_p95_ms": q.get("POST /ask via uvicorn", {}).get("p95"),
                "embed_p50_ms": q.get("Embedder.queries (1 question)", {}).get("p50"), "ask_over_embed_p50": q.get("http_over_embed_p50")}
    if name == "indexing":
        return {"build_per_s": data.get("build_per_s"), "build_over_before": data.get("build_over_before")}
    if name == "retrieval":
        return {f"{mode}_hit@1": data.get(mode, {}).get("hit@1") for mode in ("bm25", "dense", "hybrid")}
    if name == "peer":
        return {"ours_minus_best_peer_hit@1": data.get("ours_minus_best_peer_hit@1"), "ours_over_best_peer_p50": data.get("ours_over_best_peer_p50")}
    if name == "scale":
        sizes = data.get("sizes", {})
        n = max(sizes, key=int) if sizes else None
        return {"paragraphs": n, **({f"{kind}_p50_ms": sizes[n][kind]["p50"] for kind in ("flat", "hnsw", "bm25")} if n else {})}
    if name == "load":
        variants = data.get("variants") or {"one server": data}  # before the variants, one server was loaded
        return {f"{variant} rps": v.get("throughput_rps") for variant, v in variants.items()}
    if name == "runtime":
        return {f"{rt} ask_over_torch": v.get("Engine.ask") for rt, v in data.get("over_torch", {}).items()}
    if name == "archive":
        return {"archive_ask_p50_ms": data.get("Engine.ask in-process", {}).get("p50"),
                "archive_ask_p95_ms": data.get("Engine.ask in-process", {}).get("p95")}
    if name == "uploads":
        return {"health_max_ms": data.get("health_max_ms"), "every_upload_ended": data.get("every_upload_ended")}
    return {}
